import { ADMIN_HEADERS } from '../support/auth';
import { createTestDatabase, type TestDatabase } from '../support/test-database';
import { startTestGateway, type TestGateway } from '../support/test-gateway';
import { callInFlight, countOf, executionsOf } from '../support/records';
import { waitFor } from '../support/wait';
import { TOOLBOX_YAML } from './upstreams';

const VERSION = '2026-07-28';
const ENVELOPE = {
  'io.modelcontextprotocol/protocolVersion': VERSION,
  'io.modelcontextprotocol/clientCapabilities': {},
  'io.modelcontextprotocol/clientInfo': { name: 'raw', version: '1.0.0' },
};

/**
 * The 2026-07-28 front door answers a plain `tools/call` as JSON without an SDK 2 server per request
 * (transports/direct-stateless-call.ts). The same call naming a log level in its envelope goes the SDK way: the two
 * answers must be the same, for results and every kind of error; the wire's refusals stay the SDK's; and the call
 * keeps what the SDK path does around it (hang-up cancels it, the record names the revision).
 */
describe('MCP 2026-07-28: the direct tools/call path answers as the SDK path does', () => {
  let db: TestDatabase;
  let gateway: TestGateway;
  let url: string;
  let nextId = 1;

  beforeAll(async () => {
    db = await createTestDatabase('mcp_direct_2026');
    gateway = await startTestGateway({
      databaseUrl: db.url,
      yaml: TOOLBOX_YAML,
    });
    url = `${gateway.addresses.api}/mcp/toolbox`;
    await waitFor(async () => (await call('echo', { message: 'up' })).body.result !== undefined, 20_000, 'toolbox up');
  }, 60_000);

  afterAll(async () => {
    await gateway?.stop();
    await db?.drop();
  });

  function post(
    name: string,
    args: unknown,
    options: { meta?: Record<string, unknown>; headers?: Record<string, string>; signal?: AbortSignal } = {},
  ): Promise<Response> {
    return fetch(url, {
      method: 'POST',
      headers: {
        ...ADMIN_HEADERS,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'mcp-protocol-version': VERSION,
        'mcp-method': 'tools/call',
        'mcp-name': name,
        ...options.headers,
      },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: nextId++,
        method: 'tools/call',
        params: { name, arguments: args, _meta: { ...ENVELOPE, ...options.meta } },
      }),
      signal: options.signal,
    });
  }

  /** A tools/call; with `viaSdk`, a log level in the envelope makes the gateway serve it through SDK 2. */
  async function call(
    name: string,
    args: unknown,
    viaSdk = false,
  ): Promise<{ status: number; type: string; body: Record<string, unknown> }> {
    const res = await post(name, args, viaSdk ? { meta: { 'io.modelcontextprotocol/logLevel': 'emergency' } } : {});
    const type = res.headers.get('content-type') ?? '';
    return { status: res.status, type, body: (await res.json()) as Record<string, unknown> };
  }

  const withoutId = ({ id: _id, ...rest }: Record<string, unknown>) => rest;

  it('answers a result as the SDK does: resultType and the upstream identity stamped', async () => {
    const direct = await call('echo', { message: 'same' });
    const sdk = await call('echo', { message: 'same' }, true);
    expect(direct.status).toBe(200);
    expect(direct.type).toMatch(/^application\/json/);
    expect(direct.body.result).toEqual({
      content: [{ type: 'text', text: 'Echo: same' }],
      structuredContent: { echoed: 'same' },
      resultType: 'complete',
      _meta: { 'io.modelcontextprotocol/serverInfo': { name: 'toolbox', version: '1.0.0' } },
    });
    expect(sdk.status).toBe(200);
    expect(withoutId(direct.body)).toEqual(withoutId(sdk.body));
  });

  it.each([
    ['an unknown tool', 'no_such_tool', {}],
    ['arguments that fail the input schema', 'strict', { name: '', count: 'x' }],
    ["the upstream's own JSON-RPC error", 'fail', {}],
    ['a result with isError', 'soft_fail', {}],
  ])('gives the same answer as the SDK path for %s', async (_what, name, args) => {
    const direct = await call(name, args);
    const sdk = await call(name, args, true);
    expect(direct.status).toBe(sdk.status);
    expect(direct.body.error ?? direct.body.result).toBeDefined();
    expect(withoutId(direct.body)).toEqual(withoutId(sdk.body));
  });

  it("leaves the wire's refusals to the SDK: header/body mismatch, missing header, declared capabilities", async () => {
    const mismatch = await post('echo', { message: 'x' }, { headers: { 'mcp-name': 'other' } });
    expect(mismatch.status).toBe(400);
    expect(((await mismatch.json()) as { error: { code: number } }).error.code).toBe(-32020);

    const wrongMethod = await post('echo', { message: 'x' }, { headers: { 'mcp-method': 'tools/list' } });
    expect(wrongMethod.status).toBe(400);
    await wrongMethod.text();

    // A client that declares elicitation is served by the SDK path (input-required rounds), with the same result.
    const declared = await post(
      'echo',
      { message: 'caps' },
      { meta: { 'io.modelcontextprotocol/clientCapabilities': { elicitation: {} } } },
    );
    expect(declared.status).toBe(200);
    expect(((await declared.json()) as { result: { structuredContent: unknown } }).result.structuredContent).toEqual({
      echoed: 'caps',
    });
  });

  it('cancels the upstream call when the client hangs up, and records it', async () => {
    const before = await countOf(gateway.addresses.api, 'toolbox', 'hang', 'cancelled');
    const hangUp = new AbortController();
    const pending = post('hang', {}, { signal: hangUp.signal }).catch((e: Error) => e);
    await waitFor(() => callInFlight(gateway.addresses.api, 'toolbox'), 10_000, 'hang running');
    hangUp.abort();
    expect(((await pending) as Error).name).toBe('AbortError');
    await waitFor(
      async () => (await countOf(gateway.addresses.api, 'toolbox', 'hang', 'cancelled')) > before,
      10_000,
      'record of the abandoned call',
    );
  });

  it('records a direct call with channel mcp and the revision', async () => {
    await call('echo', { message: 'recorded-2026' });
    const mine = (await executionsOf(gateway.addresses.api, 'toolbox', 'echo')).filter((e) =>
      JSON.stringify(e.parameters ?? {}).includes('recorded-2026'),
    );
    expect(mine[0]).toMatchObject({ channel: 'mcp', status: 'completed', protocol_version: VERSION });
  });
});
