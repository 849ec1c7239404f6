import { Client } from 'pg';
import { ExecutionRetention } from 'src/executions/execution-retention';
import { DataSource } from 'typeorm';
import { ADMIN_HEADERS } from '../support/auth';
import { createTestDatabase, type TestDatabase } from '../support/test-database';
import { startTestGateway, type TestGateway } from '../support/test-gateway';
import { EVERYTHING, RECORDER } from '../support/paths';

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

  it('has the record of every id a call answered at once, with no wait (durable before the answer)', async () => {
    // 32 calls at once over both execute routes and the MCP-free batch of one: each answer's id is on record the
    // moment the answer arrives (the recorder group-commits before answering; nothing waits in memory).
    const answers = await Promise.all(
      Array.from({ length: 32 }, (_, i) =>
        i % 2 === 0
          ? post('/api/servers/everything/tools/echo', { message: `durable ${i}` })
          : post('/api/tools/echo/execute', { server_id: 'everything', parameters: { message: `durable ${i}` } }),
      ),
    );
    expect(answers.map((a) => a.status)).toEqual(Array(32).fill(200));
    const records = await Promise.all(answers.map((a) => get(`/api/executions/${a.body.execution_id}`)));
    expect(records.map((r) => [r.status, r.body.status])).toEqual(Array(32).fill([200, 'completed']));
    expect(records.map((r) => r.body.result)).toEqual(answers.map((a) => a.body.result));
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

    const secret = await post('/api/servers/recorder/tools/echo', { message: 'x', password: 'hunter2-in-clear' });
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
    const res = await post('/api/servers/recorder/tools/fail', {});
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

    // principal=: an admin narrows the list to one caller; anyone else's filter never widens their own view
    const byWriter = await get(`/api/executions?principal=${encodeURIComponent(record.principal)}`);
    expect(byWriter.body.executions.map((e: any) => e.execution_id)).toEqual([own.body.execution_id]);
    expect(byWriter.body.pagination.total).toBe(1);
    const ownFilter = await get(`/api/executions?principal=${encodeURIComponent(record.principal)}`, mine);
    expect(ownFilter.body.executions.map((e: any) => e.execution_id)).toEqual([own.body.execution_id]);
    const peeking = await get(`/api/executions?principal=${encodeURIComponent(someoneElse.principal)}`, mine);
    expect(peeking.status).toBe(200);
    expect(peeking.body).toMatchObject({ executions: [], pagination: { total: 0 } });
    expect((await get('/api/executions?principal=nobody')).body.executions).toEqual([]);
    expect((await get('/api/executions?principal=%01key')).status).toBe(400);
  });

  it('deletes records older than mcp.executions.retention-days (30 by default), keeping newer ones', async () => {
    const old = await post('/api/servers/everything/tools/echo', { message: 'old' });
    const fresh = await post('/api/servers/everything/tools/echo', { message: 'fresh' });
    await recordOf(old.body.execution_id);
    await recordOf(fresh.body.execution_id);
    const pg = new Client({ connectionString: db.url });
    await pg.connect();
    try {
      await pg.query(`UPDATE executions SET started_at = now() - interval '31 days' WHERE id = $1`, [
        old.body.execution_id,
      ]);
    } finally {
      await pg.end();
    }
    expect(await gateway.api.get(ExecutionRetention).sweep()).toBeGreaterThanOrEqual(1);
    expect((await get(`/api/executions/${old.body.execution_id}`)).status).toBe(404);
    expect((await get(`/api/executions/${fresh.body.execution_id}`)).status).toBe(200);
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
      // the per-server route: the arguments as the body, the key in the Idempotency-Key header
      const key = { ...ADMIN_HEADERS, 'Idempotency-Key': 'slow-once' };
      const first = post('/api/servers/recorder/tools/sleep', { ms: 800 }, key);
      await new Promise((r) => setTimeout(r, 200));
      const [a, b, c] = await Promise.all([
        first,
        post('/api/servers/recorder/tools/sleep', { ms: 800 }, key),
        post('/api/servers/recorder/tools/sleep', { ms: 800 }, key),
      ]);
      expect([a.status, b.status, c.status]).toEqual([200, 200, 200]);
      expect(b.body.execution_id).toBe(a.body.execution_id);
      expect(c.body).toEqual(a.body);
      expect(await upstreamCalls('recorder')).toBe(before + 1);
    });

    it('a repeat of a failed call answers the same error without calling again', async () => {
      const key = { ...ADMIN_HEADERS, 'Idempotency-Key': 'fail-once' };
      const first = await post('/api/servers/recorder/tools/fail', {}, key);
      expect(first.status).toBe(502);
      const before = await upstreamCalls('recorder');
      const again = await post('/api/servers/recorder/tools/fail', {}, key);
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

  describe('batch', () => {
    const sleepStep = (id: string, ms: number, ...depends_on: string[]) => ({
      execution_id: id,
      tool_name: 'sleep',
      server_id: 'recorder',
      parameters: { ms },
      ...(depends_on.length ? { depends_on } : {}),
    });

    it('runs in dependency order with max_parallel, each step recorded with batch_id and step_id', async () => {
      const res = await post('/api/tools/batch', {
        executions: [sleepStep('d', 10, 'a', 'b'), sleepStep('a', 300), sleepStep('b', 300), sleepStep('c', 300)],
        options: { max_parallel: 2 },
      });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ status: 'completed' });
      expect(res.body.executions.map((e: any) => [e.execution_id, e.status])).toEqual([
        ['d', 'completed'],
        ['a', 'completed'],
        ['b', 'completed'],
        ['c', 'completed'],
      ]);
      expect(res.body.executions[1].result.content[0].text).toBe('slept 300');
      const records = new Map<string, any>();
      for (const step of res.body.executions) records.set(step.execution_id, await recordOf(step.record_id));
      for (const [id, record] of records) {
        expect(record).toMatchObject({ batch_id: res.body.batch_id, step_id: id, status: 'completed' });
      }
      const t = (id: string, k: 'started_at' | 'completed_at') => Date.parse(records.get(id)[k]);
      expect(t('d', 'started_at')).toBeGreaterThanOrEqual(Math.max(t('a', 'completed_at'), t('b', 'completed_at')));
      // Never more than 2 at once: at each start, count the steps whose interval covers it.
      for (const id of records.keys()) {
        const at = t(id, 'started_at');
        const overlapping = [...records.keys()].filter((o) => t(o, 'started_at') <= at && t(o, 'completed_at') > at);
        expect(overlapping.length).toBeLessThanOrEqual(2);
      }
      expect(res.body.total_duration_ms).toBeGreaterThanOrEqual(600);
    });

    it('skips the dependants of a failure; independent steps go on unless fail_fast', async () => {
      const fail = { execution_id: 'bad', tool_name: 'fail', server_id: 'recorder', parameters: {} };
      const loose = await post('/api/tools/batch', {
        executions: [fail, sleepStep('child', 10, 'bad'), sleepStep('grandchild', 10, 'child'), sleepStep('other', 50)],
      });
      expect(loose.status).toBe(200);
      expect(loose.body.status).toBe('partial');
      const statuses = Object.fromEntries(loose.body.executions.map((e: any) => [e.execution_id, e.status]));
      expect(statuses).toEqual({ bad: 'failed', child: 'skipped', grandchild: 'skipped', other: 'completed' });
      expect(loose.body.executions[0].error.code).toBe('TOOL_EXECUTION_FAILED');
      const failed = await recordOf(loose.body.executions[0].record_id);
      expect(failed).toMatchObject({ status: 'failed', step_id: 'bad', batch_id: loose.body.batch_id });

      const strict = await post('/api/tools/batch', {
        executions: [fail, sleepStep('next', 10)],
        options: { fail_fast: true, max_parallel: 1 },
      });
      expect(strict.body.executions.map((e: any) => e.status)).toEqual(['failed', 'skipped']);
      expect(strict.body.executions[1].record_id).toBeUndefined();
      expect(strict.body.status).toBe('failed');
    });

    it('refuses a cycle, an unknown dependency or a duplicate id with 400 before anything runs', async () => {
      const before = await upstreamCalls('recorder');
      const cycle = await post('/api/tools/batch', {
        executions: [sleepStep('x', 1, 'z'), sleepStep('y', 1, 'x'), sleepStep('z', 1, 'y'), sleepStep('free', 1)],
      });
      expect(cycle.status).toBe(400);
      expect(cycle.body.error.code).toBe('INVALID_PARAMETERS');
      expect(cycle.body.error.details.cycle).toEqual(['x', 'z', 'y', 'x']);
      const unknown = await post('/api/tools/batch', { executions: [sleepStep('x', 1, 'nope')] });
      expect(unknown.status).toBe(400);
      expect(unknown.body.error.message).toContain('nope');
      const duplicate = await post('/api/tools/batch', { executions: [sleepStep('x', 1), sleepStep('x', 1)] });
      expect(duplicate.status).toBe(400);
      expect(duplicate.body.error.details.duplicate_ids).toEqual(['x']);
      const tooMany = await post('/api/tools/batch', {
        executions: Array.from({ length: 101 }, (_, i) => sleepStep(`s${i}`, 1)),
      });
      expect(tooMany.status).toBe(400);
      expect(
        (await post('/api/tools/batch', { executions: [sleepStep('x', 1)], options: { max_parallel: 17 } })).status,
      ).toBe(400);
      expect(await upstreamCalls('recorder')).toBe(before);
    });

    it("refuses with 403 a step naming a server outside the caller's allow-list, before anything runs", async () => {
      const created = await post('/api/api-keys', {
        name: 'everything-only',
        scopes: ['mcp:read', 'mcp:write'],
        server_ids: ['everything'],
      });
      expect(created.status).toBe(201);
      const limited = { 'X-API-Key': created.body.key as string };
      const res = await post(
        '/api/tools/batch',
        {
          executions: [
            { execution_id: 'ok', tool_name: 'echo', server_id: 'everything', parameters: { message: 'x' } },
            sleepStep('denied', 1),
          ],
        },
        limited,
      );
      expect(res.status).toBe(403);
      expect(res.body.error.code).toBe('AUTHORIZATION_DENIED');
      expect(res.body.error.details).toEqual({ execution_id: 'denied', server_id: 'recorder' });
      expect((await get('/api/executions', limited)).body.executions).toEqual([]);
    });
  });
});
