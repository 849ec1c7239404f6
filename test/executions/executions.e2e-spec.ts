import path from 'node:path';
import { DataSource } from 'typeorm';
import { ADMIN_HEADERS } from '../support/auth';
import { createTestDatabase, type TestDatabase } from '../support/test-database';
import { startTestGateway, type TestGateway } from '../support/test-gateway';

const ROOT = path.resolve(__dirname, '..', '..');
const EVERYTHING = path.join(ROOT, 'node_modules/@modelcontextprotocol/server-everything/dist/index.js');
const RECORDER = path.join(ROOT, 'test/fixtures/servers/cancel-recorder-server.js');

const SERVERS_YAML = `
  servers:
    everything:
      type: stdio
      command: node
      args: ["${EVERYTHING}", stdio]
    recorder:
      type: stdio
      command: node
      args: ["${RECORDER}"]
      timeout: 20000
`;

describe('executions: audit trail and idempotency over real MCP servers', () => {
  let db: TestDatabase;
  let gateway: TestGateway;
  let api: string;

  const call = async (method: string, p: string, body?: unknown, headers: Record<string, string> = ADMIN_HEADERS) => {
    const res = await fetch(`${api}${p}`, {
      method,
      headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as any };
  };
  const get = (p: string, headers?: Record<string, string>) => call('GET', p, undefined, headers);
  const post = (p: string, body: unknown, headers?: Record<string, string>) => call('POST', p, body, headers);

  /** The record of an execution, once the recorder has written it. */
  const recordOf = async (id: string, headers?: Record<string, string>) => {
    const deadline = Date.now() + 5000;
    for (;;) {
      const res = await get(`/api/executions/${id}`, headers);
      if (res.status === 200 && res.body.status !== 'running') return res.body;
      if (Date.now() > deadline) throw new Error(`no record of ${id}: ${JSON.stringify(res.body)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const upstreamCalls = async (server: string): Promise<number> => {
    const text = await (await fetch(`${gateway.addresses.metrics}/actuator/prometheus`)).text();
    const pattern = new RegExp(
      `mcp_client_requests_total\\{server="${server}",method="tools/call",outcome="[^"]+"\\} (\\d+)`,
      'g',
    );
    return [...text.matchAll(pattern)].reduce((sum, m) => sum + Number(m[1]), 0);
  };

  beforeAll(async () => {
    db = await createTestDatabase('executions');
    gateway = await startTestGateway({
      databaseUrl: db.url,
      yaml: `mcp:\n  client:\n    default-timeout: 10000\n${SERVERS_YAML}`,
    });
    api = gateway.addresses.api;
    const deadline = Date.now() + 30_000;
    for (;;) {
      const { body } = await get('/api/servers?status=active');
      const active = (body.servers as { id: string }[]).map((s) => s.id);
      if (active.includes('everything') && active.includes('recorder')) break;
      if (Date.now() > deadline) throw new Error('servers did not become active');
      await new Promise((r) => setTimeout(r, 200));
    }
  }, 60_000);

  afterAll(async () => {
    await gateway?.stop();
    await db?.drop();
  });

  it('records a completed call with its timings, parameters (secrets masked) and result', async () => {
    const res = await post('/api/tools/echo/execute', {
      server_id: 'everything',
      parameters: { message: 'audit me' },
    });
    expect(res.status).toBe(200);
    const record = await recordOf(res.body.execution_id);
    expect(record).toMatchObject({
      execution_id: res.body.execution_id,
      channel: 'rest',
      server_id: 'everything',
      tool_name: 'echo',
      status: 'completed',
      parameters: { message: 'audit me' },
      parameters_truncated: false,
      result: res.body.result,
      error: null,
      started_at: res.body.started_at,
      idempotency_key: null,
    });
    expect(record.duration_ms).toBeGreaterThanOrEqual(0);
    expect(Date.parse(record.completed_at)).toBeGreaterThanOrEqual(Date.parse(record.started_at));

    const secret = await post('/api/servers/recorder/tools/echo', {
      parameters: { message: 'x', password: 'hunter2-in-clear' },
    });
    // The fixture's schema does not forbid extra keys: the call completes, the record masks the value.
    expect(secret.status).toBe(200);
    const masked = await recordOf(secret.body.execution_id);
    expect(masked.parameters).toEqual({ message: 'x', password: '***' });
    const rows: unknown[] = await gateway.api
      .get(DataSource)
      .query(`SELECT 1 FROM executions WHERE parameters::text LIKE '%hunter2-in-clear%'`);
    expect(rows).toHaveLength(0);
  });

  it('records a failed call with the error code and message', async () => {
    const res = await post('/api/servers/recorder/tools/fail', { parameters: {} });
    expect(res.status).toBeGreaterThanOrEqual(400);
    const rows = await (async () => {
      const deadline = Date.now() + 5000;
      for (;;) {
        const list = await get('/api/executions?server_id=recorder&tool=fail&status=failed');
        if (list.body.executions.length > 0 || Date.now() > deadline) return list.body.executions;
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    expect(rows).toHaveLength(1);
    expect(rows[0].error).toEqual({ code: res.body.error.code, message: res.body.error.message });
    expect(rows[0].result).toBeNull();
  });

  it('lists newest first with filters and pagination, and 404s an unknown id', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await post('/api/tools/get-sum/execute', { server_id: 'everything', parameters: { a: i, b: 1 } });
      expect(res.status).toBe(200);
      ids.push(res.body.execution_id);
    }
    await recordOf(ids[4]!);
    const page1 = await get('/api/executions?tool=get-sum&limit=2');
    expect(page1.status).toBe(200);
    expect(page1.body.pagination).toEqual({ page: 1, limit: 2, total: 5, has_next: true });
    expect(page1.body.executions.map((e: any) => e.execution_id)).toEqual([ids[4], ids[3]]);
    const page3 = await get('/api/executions?tool=get-sum&limit=2&page=3');
    expect(page3.body.executions.map((e: any) => e.execution_id)).toEqual([ids[0]]);
    expect(page3.body.pagination.has_next).toBe(false);
    expect((await get('/api/executions?status=completed&server_id=recorder')).body.executions.length).toBeGreaterThan(
      0,
    );
    expect((await get('/api/executions?limit=201')).status).toBe(400);
    expect((await get('/api/executions?status=sleeping')).status).toBe(400);
    expect((await get('/api/executions/not-a-uuid')).status).toBe(400);
    expect((await get('/api/executions/00000000-0000-4000-8000-000000000000')).status).toBe(404);
  });

  it("shows a caller only its own executions; an admin everyone's", async () => {
    const created = await post('/api/api-keys', { name: 'writer', scopes: ['mcp:read', 'mcp:write'] });
    expect(created.status).toBe(201);
    const mine = { 'X-API-Key': created.body.key as string };
    const own = await post('/api/tools/echo/execute', { server_id: 'everything', parameters: { message: 'm' } }, mine);
    expect(own.status).toBe(200);
    const record = await recordOf(own.body.execution_id, mine);
    expect(record.principal).toBe(`key:${created.body.id as string}`);
    const list = await get('/api/executions', mine);
    expect(list.body.executions.map((e: any) => e.execution_id)).toEqual([own.body.execution_id]);
    const adminOnes = await get('/api/executions?limit=200');
    const someoneElse = adminOnes.body.executions.find((e: any) => e.principal !== record.principal);
    expect((await get(`/api/executions/${someoneElse.execution_id}`, mine)).status).toBe(404);
    expect((await get(`/api/executions/${own.body.execution_id}`)).status).toBe(200);
  });

  describe('idempotency', () => {
    it('a repeat returns the first result and execution_id; the upstream saw one call', async () => {
      const body = { server_id: 'everything', parameters: { a: 20, b: 22 }, idempotency_key: 'sum-once' };
      const before = await upstreamCalls('everything');
      const first = await post('/api/tools/get-sum/execute', body);
      expect(first.status).toBe(200);
      const again = await post('/api/tools/get-sum/execute', body);
      expect(again.status).toBe(200);
      expect(again.body).toEqual(first.body);
      expect(await upstreamCalls('everything')).toBe(before + 1);
      const record = await recordOf(first.body.execution_id);
      expect(record).toMatchObject({ status: 'completed', idempotency_key: 'sum-once' });
    });

    it('the same key with other parameters is a 409 CONFLICT', async () => {
      const body = { server_id: 'everything', parameters: { a: 1, b: 2 }, idempotency_key: 'sum-conflict' };
      expect((await post('/api/tools/get-sum/execute', body)).status).toBe(200);
      const other = await post('/api/tools/get-sum/execute', { ...body, parameters: { a: 1, b: 3 } });
      expect(other.status).toBe(409);
      expect(other.body.error.code).toBe('CONFLICT');
    });

    it('keys are per principal', async () => {
      const created = await post('/api/api-keys', { name: 'other', scopes: ['mcp:read', 'mcp:write'] });
      const theirs = { 'X-API-Key': created.body.key as string };
      const body = { server_id: 'everything', parameters: { a: 5, b: 5 }, idempotency_key: 'shared-key' };
      const a = await post('/api/tools/get-sum/execute', body);
      const b = await post('/api/tools/get-sum/execute', body, theirs);
      expect(a.status).toBe(200);
      expect(b.status).toBe(200);
      expect(b.body.execution_id).not.toBe(a.body.execution_id);
    });

    it('a repeat while the first still runs waits for it instead of calling twice', async () => {
      const before = await upstreamCalls('recorder');
      const body = { parameters: { ms: 800 }, idempotency_key: 'slow-once' };
      const first = post('/api/servers/recorder/tools/sleep', body);
      await new Promise((r) => setTimeout(r, 200));
      const [a, b, c] = await Promise.all([
        first,
        post('/api/servers/recorder/tools/sleep', body),
        post('/api/servers/recorder/tools/sleep', body),
      ]);
      expect([a.status, b.status, c.status]).toEqual([200, 200, 200]);
      expect(b.body.execution_id).toBe(a.body.execution_id);
      expect(c.body).toEqual(a.body);
      expect(await upstreamCalls('recorder')).toBe(before + 1);
    });

    it('a repeat of a failed call answers the same error without calling again', async () => {
      const body = { parameters: {}, idempotency_key: 'fail-once' };
      const first = await post('/api/servers/recorder/tools/fail', body);
      const before = await upstreamCalls('recorder');
      const again = await post('/api/servers/recorder/tools/fail', body);
      expect(again.status).toBe(first.status);
      expect(again.body.error.code).toBe(first.body.error.code);
      expect(await upstreamCalls('recorder')).toBe(before);
    });

    it('refuses a key over 200 characters', async () => {
      const res = await post('/api/tools/echo/execute', {
        server_id: 'everything',
        parameters: { message: 'x' },
        idempotency_key: 'k'.repeat(201),
      });
      expect(res.status).toBe(400);
    });
  });
});
