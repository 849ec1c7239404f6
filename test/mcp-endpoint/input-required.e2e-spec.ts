import { Client as ModernClient, StreamableHTTPClientTransport as ModernTransport } from '@modelcontextprotocol/client';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { ADMIN_HEADERS } from '../support/auth';
import { REPO } from '../support/paths';
import { createTestDatabase, type TestDatabase } from '../support/test-database';
import { startTestGateway, type TestGateway } from '../support/test-gateway';
import { waitFor } from '../support/wait';
import { textOf, waitForTools } from './upstreams';

const FIXTURE = path.join(REPO, 'test/fixtures/servers/conformance-2025.js');
const REVISION = '2026-07-28';
const ALL = { elicitation: {}, sampling: {}, roots: {} };
const NAME = { action: 'accept', content: { name: 'Alice' } };
const SAMPLED = { role: 'assistant', content: { type: 'text', text: 'Paris' }, model: 'e2e', stopReason: 'endTurn' };
const ROOTS = { roots: [{ uri: 'file:///e2e/root', name: 'e2e' }] };
/** A round waits this long for its retry (mcp.client.default-timeout); the server's calls may take 20 s in all. */
const ROUND_MS = 3000;

interface Answer {
  status: number;
  result?: Record<string, unknown> & { resultType?: string; requestState?: string; inputRequests?: Inputs };
  error?: { code: number; message: string };
}
type Inputs = Record<string, { method: string; params: Record<string, unknown> }>;
interface Execution {
  execution_id: string;
  status: string;
  channel: string;
  protocol_version: string | null;
}

/**
 * Input-required relaying (issue #13, ADR 0006): a 2025-era stdio upstream (the conformance fixture) asks the client
 * mid-call; a 2026-07-28 client gets `input_required` and resumes the same upstream call with its retry, on either of
 * two in-process replicas sharing one database, the test Redis (session bus) and the key of secrets at rest.
 */
describe('input-required relaying for 2026-07-28 clients across two replicas', () => {
  let db: TestDatabase;
  let a: TestGateway;
  let b: TestGateway;
  let other: string;
  let nextId = 1;

  beforeAll(async () => {
    expect(process.env.TEST_REDIS_URL).toBeTruthy();
    db = await createTestDatabase('mcp_input_required');
    const env = { GLOBALMCP_ENCRYPTION_KEY: randomBytes(32).toString('base64') };
    const yaml =
      `mcp:\n  client:\n    default-timeout: ${ROUND_MS}\n  servers:\n    conformance:\n      type: stdio\n` +
      `      command: node\n      args: ["${FIXTURE}"]\n      timeout: 20s\n      pool-size: 3\n`;
    a = await startTestGateway({ databaseUrl: db.url, yaml, env });
    b = await startTestGateway({ databaseUrl: db.url, yaml, env });
    await Promise.all([waitForTools(a.addresses.api, ['conformance']), waitForTools(b.addresses.api, ['conformance'])]);
    const res = await fetch(`${a.addresses.api}/api/api-keys`, {
      method: 'POST',
      headers: { ...ADMIN_HEADERS, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'input-required-other', scopes: ['mcp:read', 'mcp:write'] }),
    });
    expect(res.status).toBe(201);
    other = ((await res.json()) as { key: string }).key;
  }, 90_000);

  afterAll(async () => {
    await a?.stop();
    await b?.stop();
    await db?.drop();
  });

  /** One raw 2026-07-28 POST to a replica. */
  async function rpc(
    gateway: TestGateway,
    method: string,
    params: Record<string, unknown>,
    options: { key?: string; caps?: Record<string, unknown>; path?: string } = {},
  ): Promise<Answer> {
    const name = (params.name ?? params.uri ?? '') as string;
    const res = await fetch(`${gateway.addresses.api}${options.path ?? '/mcp/conformance'}`, {
      method: 'POST',
      headers: {
        'x-api-key': options.key ?? ADMIN_HEADERS['X-API-Key']!,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'mcp-protocol-version': REVISION,
        'mcp-method': method,
        'mcp-name': name,
      },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: nextId++,
        method,
        params: {
          ...params,
          _meta: {
            'io.modelcontextprotocol/protocolVersion': REVISION,
            'io.modelcontextprotocol/clientCapabilities': options.caps ?? ALL,
          },
        },
      }),
    });
    const text = await res.text();
    const line = text.startsWith('{')
      ? text
      : text.split('\n').find((l) => l.startsWith('data: {"') && l.includes('"id"'));
    const body = JSON.parse(line!.replace(/^data: /, '')) as Omit<Answer, 'status'>;
    return { status: res.status, ...body };
  }

  const call = (gateway: TestGateway, tool: string, extra: Record<string, unknown> = {}, options = {}) =>
    rpc(gateway, 'tools/call', { name: tool, arguments: {}, ...extra }, options);

  async function executions(tool: string): Promise<Execution[]> {
    const res = await fetch(`${a.addresses.api}/api/executions?tool=${tool}&limit=100`, { headers: ADMIN_HEADERS });
    return ((await res.json()) as { executions: Execution[] }).executions;
  }

  /** The one key of `inputRequests` asking `method`. */
  const keyOf = (answer: Answer, method: string): string =>
    Object.entries(answer.result!.inputRequests!).find(([, r]) => r.method === method)![0];

  it('serves the SDK 2 client (2026-07-28): its handlers answer, its retries alternate replicas, one record per call', async () => {
    const hits = { a: 0, b: 0 };
    const replicas = [a.addresses.api, b.addresses.api];
    let turn = 0;
    const client = new ModernClient(
      { name: 'e2e-input-required', version: '1.0.0' },
      { versionNegotiation: { mode: { pin: REVISION } }, capabilities: ALL },
    );
    client.setRequestHandler('elicitation/create', () => NAME as never);
    client.setRequestHandler('sampling/createMessage', () => SAMPLED as never);
    client.setRequestHandler('roots/list', () => ROOTS as never);
    const before = {
      multiple: (await executions('test_input_required_result_multiple_inputs')).length,
      rounds: (await executions('test_input_required_result_multi_round')).length,
    };
    await client.connect(
      new ModernTransport(new URL(`${a.addresses.api}/mcp/conformance`), {
        requestInit: { headers: ADMIN_HEADERS },
        // Every request goes to the other replica than the one before: each retry reaches the replica not holding it.
        fetch: (url, init) => {
          const to = replicas[turn++ % 2]!;
          hits[to === a.addresses.api ? 'a' : 'b'] += 1;
          return fetch(String(url).replace(a.addresses.api, to), init);
        },
      }),
    );
    try {
      const all = textOf(await client.callTool({ name: 'test_input_required_result_multiple_inputs', arguments: {} }));
      expect(all).toContain('"name":"Alice"');
      expect(all).toContain('Paris');
      expect(all).toContain('file:///e2e/root');
      const rounds = textOf(await client.callTool({ name: 'test_input_required_result_multi_round', arguments: {} }));
      expect(rounds.match(/Alice/g)).toHaveLength(2);
      const prompt = await client.getPrompt({ name: 'test_input_required_result_prompt' });
      expect(JSON.stringify(prompt.messages)).toContain('Alice');
    } finally {
      await client.close();
    }
    expect(hits.a).toBeGreaterThanOrEqual(3);
    expect(hits.b).toBeGreaterThanOrEqual(3);
    // One execution per call, however many rounds and replicas it took.
    for (const [tool, n] of [
      ['test_input_required_result_multiple_inputs', before.multiple],
      ['test_input_required_result_multi_round', before.rounds],
    ] as const) {
      const records = await executions(tool);
      expect(records).toHaveLength(n + 1);
      expect(records[0]).toMatchObject({ status: 'completed', channel: 'mcp', protocol_version: REVISION });
    }
  }, 30_000);

  it('resumes a call held by one replica from a retry on the other, round after round', async () => {
    const tool = 'test_input_required_result_multi_round';
    const first = await call(a, tool);
    expect(first.result).toMatchObject({ resultType: 'input_required' });
    const second = await call(b, tool, {
      inputResponses: { [keyOf(first, 'elicitation/create')]: NAME },
      requestState: first.result!.requestState,
    });
    expect(second.result).toMatchObject({ resultType: 'input_required' });
    expect(second.result!.requestState).not.toBe(first.result!.requestState);
    const third = await call(a, tool, {
      inputResponses: { [keyOf(second, 'elicitation/create')]: { action: 'accept', content: { name: 'Bob' } } },
      requestState: second.result!.requestState,
    });
    expect(third.result).toMatchObject({ resultType: 'complete' });
    expect(textOf(third.result)).toMatch(/Alice.*Bob/);
  });

  it('relays a question asked while a resource is read (resources/read), resumed on the other replica', async () => {
    const uri = 'test://roots-resource';
    const first = await rpc(a, 'resources/read', { uri });
    expect(first.result).toMatchObject({ resultType: 'input_required' });
    const done = await rpc(b, 'resources/read', {
      uri,
      inputResponses: { [keyOf(first, 'roots/list')]: ROOTS },
      requestState: first.result!.requestState,
    });
    expect(done.result).toMatchObject({ resultType: 'complete', contents: [{ uri }] });
    expect(JSON.stringify(done.result)).toContain('file:///e2e/root');
  });

  describe('what a retry may not do', () => {
    const tool = 'test_input_required_result_elicitation';
    let pending: Answer;
    let key: string;
    let records: number;

    beforeAll(async () => {
      records = (await executions(tool)).length;
      pending = await call(a, tool);
      key = keyOf(pending, 'elicitation/create');
    });

    const retry = (gateway: TestGateway, state: string, responses: Record<string, unknown>, options = {}) =>
      call(gateway, tool, { inputResponses: responses, requestState: state }, options);

    it('refuses a tampered state, one presented by another caller, on another URL or for another tool (-32602)', async () => {
      const state = pending.result!.requestState!;
      const refusals = await Promise.all([
        retry(b, `${state}x`, { [key]: NAME }),
        retry(b, state, { [key]: NAME }, { key: other }),
        rpc(
          b,
          'tools/call',
          { name: `conformance__${tool}`, inputResponses: { [key]: NAME }, requestState: state },
          {
            path: '/mcp',
          },
        ),
        call(b, 'test_input_required_result_request_state', { inputResponses: { [key]: NAME }, requestState: state }),
      ]);
      // The SDK's verification (MAC, caller, URL) answers one frozen message; the target is the gateway's check.
      expect(refusals.map((r) => [r.error?.code, r.error?.message])).toEqual([
        ...Array(3).fill([-32602, 'Invalid or expired requestState']),
        [-32602, expect.stringContaining('another target')],
      ]);
    });

    it('refuses a malformed response (-32602) and asks again for a missing one, with a new state', async () => {
      const malformed = await retry(b, pending.result!.requestState!, { [key]: { action: 'maybe' } });
      expect(malformed.error).toMatchObject({ code: -32602, message: expect.stringContaining(key) });
      const again = await retry(b, pending.result!.requestState!, { unrelated: NAME });
      expect(again.result).toMatchObject({ resultType: 'input_required', inputRequests: { [key]: expect.anything() } });
      expect(again.result!.requestState).not.toBe(pending.result!.requestState);
      // The state answered is spent: only the newest one continues the call.
      expect((await retry(a, pending.result!.requestState!, { [key]: NAME })).error?.code).toBe(-32602);
      pending = again;
    });

    it('completes with the right answer, on record once; the spent state then finds nothing pending', async () => {
      const done = await retry(a, pending.result!.requestState!, { [key]: NAME, extra: { action: 'cancel' } });
      expect(done.result).toMatchObject({ resultType: 'complete' });
      expect(textOf(done.result)).toContain('Alice');
      const late = await retry(b, pending.result!.requestState!, { [key]: NAME });
      expect(late.error).toMatchObject({ code: -32602, message: expect.stringContaining('no longer pending') });
      const after = await executions(tool);
      expect(after).toHaveLength(records + 1);
      expect(after[0]).toMatchObject({ status: 'completed', protocol_version: REVISION });
    }, 10_000);
  });

  it('cancels an abandoned round upstream (recorded cancelled) and refuses its expired state', async () => {
    const tool = 'test_input_required_result_sampling';
    const first = await call(a, tool);
    expect(first.result).toMatchObject({ resultType: 'input_required' });
    await waitFor(async () => (await executions(tool))[0]?.status === 'cancelled', 10_000, 'the round given up');
    const late = await call(b, tool, {
      inputResponses: { [keyOf(first, 'sampling/createMessage')]: SAMPLED },
      requestState: first.result!.requestState,
    });
    expect(late.error?.code).toBe(-32602);
    expect(await executions(tool)).toHaveLength(1);
  }, 15_000);

  it('leaves a client that declared none of the capabilities unasked: the upstream hears the refusal', async () => {
    const answer = await call(a, 'test_elicitation', { arguments: { message: 'hi' } }, { caps: {} });
    expect(answer.result).toMatchObject({ resultType: 'complete' });
    expect(textOf(answer.result)).toMatch(/not supported or error: .*elicitation/);
  });
});
