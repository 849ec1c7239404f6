import { ADMIN_HEADERS } from '../support/auth';
import { createTestDatabase, type TestDatabase } from '../support/test-database';
import { startTestGateway, type TestGateway } from '../support/test-gateway';
import { callInFlight, countOf, executionsOf } from '../support/records';
import { waitFor } from '../support/wait';
import { TOOLBOX_YAML } from './upstreams';

/**
 * The 2025 front door answers a session's plain `tools/call` as JSON without an SDK server per request
 * (transports/direct-tool-call.ts). The same call with a progress token still goes the SDK way (an event stream): the
 * two answers must be the same JSON-RPC response, for results and for every kind of error, and the direct path must
 * keep what the SDK path does around the call (cancellation, hang-up, the record).
 */
describe('MCP front door: the direct tools/call path answers as the SDK path does', () => {
  let db: TestDatabase;
  let gateway: TestGateway;
  let url: string;
  let sessionId: string;
  let nextId = 1;

  beforeAll(async () => {
    db = await createTestDatabase('mcp_direct_call');
    gateway = await startTestGateway({
      databaseUrl: db.url,
      yaml: TOOLBOX_YAML,
    });
    url = `${gateway.addresses.api}/mcp/toolbox`;
    const init = await post({
      jsonrpc: '2.0',
      id: 0,
      method: 'initialize',
      params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1.0.0' } },
    });
    expect(init.status).toBe(200);
    sessionId = init.headers.get('mcp-session-id')!;
    expect(sessionId).toBeTruthy();
    await init.text();
    await post({ jsonrpc: '2.0', method: 'notifications/initialized' }).then((r) => r.text());
    await waitFor(async () => (await call('echo', { message: 'up' })).body.result !== undefined, 20_000, 'toolbox up');
  }, 60_000);

  afterAll(async () => {
    await gateway?.stop();
    await db?.drop();
  });

  function post(body: unknown, headers: Record<string, string> = {}, signal?: AbortSignal): Promise<Response> {
    return fetch(url, {
      method: 'POST',
      headers: {
        ...ADMIN_HEADERS,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'mcp-protocol-version': '2025-11-25',
        ...(sessionId ? { 'mcp-session-id': sessionId } : {}),
        ...headers,
      },
      body: JSON.stringify(body),
      signal,
    });
  }

  /** A tools/call; with `viaSdk`, a progress token makes the gateway answer on an event stream (the SDK's path). */
  async function call(
    name: string,
    args: unknown,
    viaSdk = false,
  ): Promise<{ status: number; type: string; body: Record<string, unknown> }> {
    const id = nextId++;
    const params = { name, arguments: args, ...(viaSdk ? { _meta: { progressToken: `p-${id}` } } : {}) };
    const res = await post({ jsonrpc: '2.0', id, method: 'tools/call', params });
    const type = res.headers.get('content-type') ?? '';
    const text = await res.text();
    if (!type.startsWith('text/event-stream')) return { status: res.status, type, body: JSON.parse(text) };
    const answer = text
      .split('\n')
      .filter((line) => line.startsWith('data: {'))
      .map((line) => JSON.parse(line.slice(6)) as Record<string, unknown>)
      .find((m) => m.id === id);
    return { status: res.status, type, body: answer! };
  }

  /** The response without its id (the two paths' requests have different ids). */
  const withoutId = ({ id: _id, ...rest }: Record<string, unknown>) => rest;

  it('answers a result as JSON, the same response the SDK path gives on its event stream', async () => {
    const direct = await call('echo', { message: 'same' });
    const sdk = await call('echo', { message: 'same' }, true);
    expect(direct.status).toBe(200);
    expect(direct.type).toMatch(/^application\/json/);
    expect(sdk.type).toMatch(/^text\/event-stream/);
    expect(direct.body.result).toEqual({
      content: [{ type: 'text', text: 'Echo: same' }],
      structuredContent: { echoed: 'same' },
    });
    expect(withoutId(direct.body)).toEqual(withoutId(sdk.body));
  });

  it.each([
    ['an unknown tool', 'no_such_tool', {}],
    ['arguments that fail the input schema', 'strict', { name: '', count: 'x' }],
    ["the upstream's own JSON-RPC error", 'fail', {}],
    ['a result with isError', 'soft_fail', {}],
  ])('gives the same response as the SDK path for %s', async (_what, name, args) => {
    const direct = await call(name, args);
    const sdk = await call(name, args, true);
    expect(direct.type).toMatch(/^application\/json/);
    expect(direct.body.error ?? direct.body.result).toBeDefined();
    expect(withoutId(direct.body)).toEqual(withoutId(sdk.body));
  });

  it('leaves what it cannot answer exactly to the SDK: malformed params, an unsupported version header', async () => {
    const malformed = await post({ jsonrpc: '2.0', id: nextId++, method: 'tools/call', params: { arguments: {} } });
    // The SDK's own answer (its request schema refuses the missing name), not one of this path's.
    const body = (await malformed.json()) as { error: { code: number; message: string } };
    expect(malformed.headers.get('content-type')).toMatch(/^application\/json/);
    expect(body.error.message).toMatch(/name/);

    const version = await post(
      { jsonrpc: '2.0', id: nextId++, method: 'tools/call', params: { name: 'echo', arguments: { message: 'x' } } },
      { 'mcp-protocol-version': '1999-01-01' },
    );
    expect(version.status).toBe(400);
    expect(await version.text()).toMatch(/Unsupported protocol version/);
  });

  it("cancels the upstream call on the client's notifications/cancelled and records it", async () => {
    const id = nextId++;
    const pending = post({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'hang', arguments: {} } });
    await waitFor(() => callInFlight(gateway.addresses.api, 'toolbox'), 10_000, 'hang running');
    const cancel = await post({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: id } });
    expect(cancel.status).toBe(202);
    const answer = (await (await pending).json()) as { id: number; error?: { code: number } };
    expect(answer.id).toBe(id);
    expect(answer.error).toBeDefined();
    await waitFor(
      () => countOf(gateway.addresses.api, 'toolbox', 'hang', 'cancelled').then((n) => n > 0),
      10_000,
      'cancelled record',
    );
  });

  it('cancels the upstream call when the client hangs up', async () => {
    const before = await countOf(gateway.addresses.api, 'toolbox', 'hang', 'cancelled');
    const hangUp = new AbortController();
    const pending = post(
      { jsonrpc: '2.0', id: nextId++, method: 'tools/call', params: { name: 'hang', arguments: {} } },
      {},
      hangUp.signal,
    ).catch((e: Error) => e);
    await waitFor(() => callInFlight(gateway.addresses.api, 'toolbox'), 10_000, 'hang running');
    hangUp.abort();
    expect(((await pending) as Error).name).toBe('AbortError');
    await waitFor(
      async () => (await countOf(gateway.addresses.api, 'toolbox', 'hang', 'cancelled')) > before,
      10_000,
      'record of the abandoned call',
    );
  });

  it('records every direct call with channel mcp and the session revision', async () => {
    await call('echo', { message: 'recorded' });
    const executions = await executionsOf(gateway.addresses.api, 'toolbox', 'echo');
    const mine = executions.filter((e) => JSON.stringify(e.parameters ?? {}).includes('recorded'));
    expect(mine.length).toBeGreaterThan(0);
    expect(mine[0]).toMatchObject({ channel: 'mcp', status: 'completed', protocol_version: '2025-11-25' });
  });
});
