import { createClient } from '@keyv/redis';
import { request } from 'node:http';
import { ADMIN_HEADERS } from '../support/auth';
import { createTestDatabase, type TestDatabase } from '../support/test-database';
import { startTestGateway, type TestGateway } from '../support/test-gateway';
import { EVERYTHING, RECORDER } from '../support/paths';
import { waitFor } from '../support/wait';

const SERVERS_YAML = `
  servers:
    everything:
      type: stdio
      name: Everything
      command: node
      args: ["${EVERYTHING}", stdio]
      environment:
        SUPER_SECRET_TOKEN: s3cr3t-value-never-shown
    everything-two:
      type: stdio
      command: node
      args: ["${EVERYTHING}", stdio]
    recorder:
      type: stdio
      command: node
      args: ["${RECORDER}"]
      timeout: 20000
    remote:
      type: http
      url: http://user:hunter2@127.0.0.1:1/mcp
      headers:
        Authorization: Bearer very-secret-header
      enabled: false
`;

interface Envelope {
  error: { code: string; message: string; details: any; request_id: string };
}

describe('servers and tools REST over real MCP servers', () => {
  let db: TestDatabase;
  let gateway: TestGateway;
  let api: string;

  const get = async (p: string) => {
    const res = await fetch(`${api}${p}`, { headers: ADMIN_HEADERS });
    return { status: res.status, body: (await res.json()) as any };
  };
  const post = async (p: string, body: unknown, init: RequestInit = {}) => {
    const res = await fetch(`${api}${p}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...ADMIN_HEADERS },
      body: typeof body === 'string' ? body : JSON.stringify(body),
      ...init,
    });
    return { status: res.status, body: (await res.json()) as any };
  };
  const waitActive = async (ids: string[]) => {
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      const { body } = await get('/api/servers?status=active');
      const active = (body.servers as { id: string; capabilities: { tools: number } }[])
        .filter((s) => s.capabilities.tools > 0)
        .map((s) => s.id);
      if (ids.every((id) => active.includes(id))) return;
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`servers ${ids.join(', ')} did not become active`);
  };

  beforeAll(async () => {
    db = await createTestDatabase('rest');
    gateway = await startTestGateway({
      databaseUrl: db.url,
      yaml: `mcp:\n  client:\n    default-timeout: 10000\n${SERVERS_YAML}`,
    });
    api = gateway.addresses.api;
    await waitActive(['everything', 'everything-two', 'recorder']);
  }, 60_000);

  afterAll(async () => {
    await gateway?.stop();
    await db?.drop();
  });

  describe('servers', () => {
    it('lists servers with status, type, capabilities and source, filtered and paginated', async () => {
      const all = await get('/api/servers');
      expect(all.status).toBe(200);
      expect(all.body.pagination).toEqual({ page: 1, limit: 50, total: 4, has_next: false });
      const everything = all.body.servers.find((s: any) => s.id === 'everything');
      expect(everything).toMatchObject({ name: 'Everything', type: 'stdio', status: 'active', source: 'config' });
      expect(everything.capabilities.tools).toBeGreaterThan(5);

      expect((await get('/api/servers?type=http')).body.servers.map((s: any) => s.id)).toEqual(['remote']);
      expect((await get('/api/servers?status=inactive')).body.servers.map((s: any) => s.id)).toEqual(['remote']);
      const page = await get('/api/servers?limit=1&page=2');
      expect(page.body.servers).toHaveLength(1);
      expect(page.body.pagination).toMatchObject({ page: 2, limit: 1, total: 4, has_next: true });
    });

    it('refuses bad filters and page sizes with 400 naming the field', async () => {
      const bad = await get('/api/servers?status=sleeping&limit=500');
      expect(bad.status).toBe(400);
      expect((bad.body as Envelope).error.code).toBe('INVALID_PARAMETERS');
      const fields = (bad.body as Envelope).error.details.fields.map((f: any) => f.field);
      expect(fields).toEqual(expect.arrayContaining(['status', 'limit']));
      expect((await get('/api/servers?unknown_key=1')).status).toBe(400);
    });

    it('shows details with every secret masked', async () => {
      const { status, body } = await get('/api/servers/everything');
      expect(status).toBe(200);
      expect(body.configuration.environment).toEqual({ SUPER_SECRET_TOKEN: '***' });
      expect(body.capabilities.protocol_version).toMatch(/^\d{4}-\d\d-\d\d$/);
      expect(body.capabilities.server_info.name).toBeTruthy();
      const remote = await get('/api/servers/remote');
      expect(remote.body.configuration.headers).toEqual({ Authorization: '***' });
      const text = JSON.stringify([body, remote.body]);
      expect(text).not.toContain('s3cr3t-value-never-shown');
      expect(text).not.toContain('very-secret-header');
      expect(text).not.toContain('hunter2');
    });

    it('answers unknown and malformed server ids with 404 and 400', async () => {
      const missing = await get('/api/servers/nope');
      expect(missing.status).toBe(404);
      expect((missing.body as Envelope).error.code).toBe('RESOURCE_NOT_FOUND');
      const malformed = await get(`/api/servers/${encodeURIComponent("x' OR 1=1 --")}`);
      expect(malformed.status).toBe(400);
    });

    it('checks a server live and reports a disabled one as down', async () => {
      const up = await get('/api/servers/everything/health');
      expect(up.body.status).toBe('UP');
      expect(up.body.checks.map((c: any) => c.name)).toEqual([
        'connectivity',
        'authentication',
        'capability_discovery',
      ]);
      expect(up.body.checks[0].response_time_ms).toBeGreaterThan(0);
      const down = await get('/api/servers/remote/health');
      expect(down.body.status).toBe('DOWN');
    });

    it('restarts a server with new processes and it serves again', async () => {
      const before = gateway.api.get((await import('src/mcp/mcp-engine')).McpEngine).childPids('everything-two');
      const res = await post('/api/servers/everything-two/restart', {});
      expect(res.status).toBe(200);
      expect(res.body.status).toBe('restarted');
      await waitActive(['everything-two']);
      const after = gateway.api.get((await import('src/mcp/mcp-engine')).McpEngine).childPids('everything-two');
      expect(after.some((pid) => before.includes(pid))).toBe(false);
      const echo = await post('/api/servers/everything-two/tools/echo', { message: 'again' });
      expect(echo.body.result.content[0].text).toContain('again');
    });
  });

  describe('tools', () => {
    it('lists, searches and filters tools across servers', async () => {
      const all = await get('/api/tools');
      expect(all.body.servers_count).toBe(3);
      expect(all.body.total_count).toBe(all.body.tools.length);
      const echo = await get('/api/tools?search=ECHO&server_id=everything');
      expect(echo.body.tools.map((t: any) => t.name)).toEqual(['echo']);
      expect(echo.body.tools[0]).toMatchObject({
        server_id: 'everything',
        server_name: 'Everything',
        category: 'general',
      });
      expect(echo.body.tools[0].input_schema.properties.message).toBeDefined();
      expect((await get('/api/tools?category=nothing')).body.total_count).toBe(0);
      expect((await get('/api/servers/recorder/tools')).body.tools.map((t: any) => t.name)).toContain('hang');
    });

    it('returns 409 for a name on several servers without server_id, and the tool with it', async () => {
      const ambiguous = await get('/api/tools/echo');
      expect(ambiguous.status).toBe(409);
      expect((ambiguous.body as Envelope).error.code).toBe('CONFLICT');
      expect(JSON.stringify(ambiguous.body.error.details)).toContain('everything-two');
      const one = await get('/api/tools/echo?server_id=everything');
      expect(one.status).toBe(200);
      expect(one.body.name).toBe('echo');
      expect((await get('/api/tools/no-such-tool')).status).toBe(404);
    });

    it('executes a tool through both routes', async () => {
      const first = await post('/api/tools/echo/execute', {
        server_id: 'everything',
        parameters: { message: 'hello' },
      });
      expect(first.status).toBe(200);
      expect(first.body).toMatchObject({
        status: 'completed',
        server_id: 'everything',
        tool_name: 'echo',
        result: { is_error: false },
      });
      expect(first.body.result.content).toEqual([{ type: 'text', text: 'Echo: hello' }]);
      expect(first.body.execution_id).toMatch(/^[0-9a-f-]{36}$/);
      expect(first.body.duration_ms).toBeGreaterThan(0);
      const second = await post('/api/servers/everything/tools/get-sum', { a: 2, b: 40 });
      expect(second.status).toBe(200);
      expect(JSON.stringify(second.body.result.content)).toContain('42');
    });

    it('passes results through faithfully: images and structured content', async () => {
      const image = await post('/api/servers/everything/tools/get-tiny-image', {});
      const kinds = image.body.result.content.map((c: any) => c.type);
      expect(kinds).toContain('image');
      const png = image.body.result.content.find((c: any) => c.type === 'image');
      expect(png.mimeType).toBe('image/png');
      expect(Buffer.from(png.data, 'base64').subarray(1, 4).toString()).toBe('PNG');
      const tools = (await get('/api/tools?server_id=everything&search=structured')).body.tools;
      const structured = await post(`/api/servers/everything/tools/${tools[0].name}`, { location: 'New York' });
      expect(structured.status).toBe(200);
      expect(structured.body.result.structured_content).toBeDefined();
    });

    it('validates parameters against the input schema before calling upstream', async () => {
      const res = await post('/api/servers/everything/tools/echo', { message: 42 });
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('INVALID_PARAMETERS');
      expect(res.body.error.details.errors[0].path).toBe('/message');
      const missing = await post('/api/tools/echo/execute', { server_id: 'everything' });
      expect(missing.status).toBe(400);
      expect(missing.body.error.details.fields[0].field).toBe('parameters');
    });

    describe("POST /api/servers/{id}/tools/{tool}: the body is the tool's arguments", () => {
      const call = async (p: string, body: string | undefined, headers: Record<string, string> = {}) => {
        const res = await fetch(`${api}${p}`, {
          method: 'POST',
          headers: {
            ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
            ...ADMIN_HEADERS,
            ...headers,
          },
          body,
        });
        const text = await res.text();
        return { status: res.status, headers: res.headers, body: (text ? JSON.parse(text) : undefined) as any };
      };
      const upstreamCalls = async (server: string): Promise<number> => {
        const text = await (await fetch(`${gateway.addresses.metrics}/actuator/prometheus`)).text();
        const pattern = new RegExp(
          `mcp_client_requests_total\\{server="${server}",method="tools/call",outcome="[^"]+"\\} (\\d+)`,
          'g',
        );
        return [...text.matchAll(pattern)].reduce((sum, m) => sum + Number(m[1]), 0);
      };
      const expectInvalid = (res: { status: number; body: any }, field: string) => {
        expect(res.status).toBe(400);
        expect(res.body.error).toMatchObject({ code: 'INVALID_PARAMETERS', request_id: expect.any(String) });
        expect(res.body.error.details.fields.map((f: { field: string }) => f.field)).toEqual([field]);
      };

      it('calls the tool with the body as its arguments; no body or an empty one is {}', async () => {
        const echo = await call('/api/servers/everything/tools/echo', JSON.stringify({ message: 'plain body' }));
        expect(echo.status).toBe(200);
        expect(echo.body.result.content).toEqual([{ type: 'text', text: 'Echo: plain body' }]);
        for (const body of [undefined, '']) {
          const pid = await call('/api/servers/recorder/tools/pid', body);
          expect({ body, status: pid.status }).toEqual({ body, status: 200 });
          expect(pid.body.result.content[0].text).toMatch(/^\d+$/);
        }
      });

      it('checks the arguments against the input schema, naming the field; the old wrapper is no wrapper', async () => {
        const wrong = await call('/api/servers/everything/tools/echo', JSON.stringify({ message: 42 }));
        expect(wrong.status).toBe(400);
        expect(wrong.body.error.code).toBe('INVALID_PARAMETERS');
        expect(wrong.body.error.details.errors).toEqual([expect.objectContaining({ path: '/message' })]);
        // `parameters` is just an argument name here: echo then lacks its `message`
        const wrapped = await call(
          '/api/servers/everything/tools/echo',
          JSON.stringify({ parameters: { message: 'x' } }),
        );
        expect(wrapped.status).toBe(400);
        expect(wrapped.body.error.details.errors).toEqual(
          expect.arrayContaining([expect.objectContaining({ path: '/message' })]),
        );
      });

      it('refuses a body that is not a JSON object with 400 in the envelope', async () => {
        for (const body of ['[]', '[{"message":"x"}]', '"text"', 'null', '42', 'true']) {
          const res = await call('/api/servers/everything/tools/echo', body);
          expect({ body, status: res.status }).toEqual({ body, status: 400 });
          expectInvalid(res, 'body');
        }
      });

      it('takes the idempotency key from the Idempotency-Key header: one upstream call, other arguments 409', async () => {
        const key = { 'Idempotency-Key': 'header-once' };
        const before = await upstreamCalls('recorder');
        const first = await call('/api/servers/recorder/tools/echo', JSON.stringify({ message: 'once' }), key);
        expect(first.status).toBe(200);
        const again = await call('/api/servers/recorder/tools/echo', JSON.stringify({ message: 'once' }), key);
        expect(again.status).toBe(200);
        expect(again.body.execution_id).toBe(first.body.execution_id);
        expect(again.body).toEqual(first.body);
        expect(await upstreamCalls('recorder')).toBe(before + 1);
        const other = await call('/api/servers/recorder/tools/echo', JSON.stringify({ message: 'twice' }), key);
        expect(other.status).toBe(409);
        expect(other.body.error.code).toBe('CONFLICT');
        // without the header each call is its own
        const plain = await call('/api/servers/recorder/tools/echo', JSON.stringify({ message: 'once' }));
        expect(plain.body.execution_id).not.toBe(first.body.execution_id);
      });

      it('records arguments jsonb cannot hold (NUL, a lone surrogate) with U+FFFD: keyed, as a job and streamed', async () => {
        // Valid JSON that PostgreSQL's jsonb refuses: the running row written first (key, job, stream) was a 500.
        const body = '{"message":"a\\u0000b\\ud800c"}';
        const keyed = await call('/api/servers/recorder/tools/echo', body, { 'Idempotency-Key': 'nul-arguments' });
        expect(keyed.status).toBe(200);
        expect(keyed.body.result.content[0].text).toBe('Echo: a\u0000b\ud800c');
        const again = await call('/api/servers/recorder/tools/echo', body, { 'Idempotency-Key': 'nul-arguments' });
        expect({ status: again.status, id: again.body.execution_id }).toEqual({
          status: 200,
          id: keyed.body.execution_id,
        });
        const job = await call('/api/servers/recorder/tools/echo?mode=async', body);
        expect(job.status).toBe(202);
        let record: any;
        await waitFor(
          async () => {
            record = (await get(`/api/executions/${job.body.execution_id}`)).body;
            return record.status === 'completed';
          },
          10_000,
          'the job with a NUL argument to complete',
        );
        expect(record.parameters).toEqual({ message: 'a\ufffdb\ufffdc' });
        expect(record.result.structured_content).toEqual({ echoed: 'a\ufffdb\ufffdc' });
        const res = await fetch(`${api}/api/servers/recorder/tools/echo`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', accept: 'text/event-stream', ...ADMIN_HEADERS },
          body,
        });
        expect(res.status).toBe(200);
        expect(await res.text()).toMatch(/event: result\ndata: \{"execution_id":"[^"]+","status":"completed"/);
        // an error naming such an argument (an unknown one: `strict` allows no others) is recorded too: a batch step
        // whose arguments the tool refuses is a failed step on record (a job with them is refused up front, below)
        const batch = await post('/api/tools/batch', {
          executions: [
            {
              execution_id: 'odd',
              tool_name: 'strict',
              server_id: 'recorder',
              parameters: { name: 'n', count: 1, 'odd\u0000key': 1 },
            },
          ],
        });
        expect(batch.status).toBe(200);
        const step = batch.body.executions[0];
        expect(step.status).toBe('failed');
        await waitFor(
          async () => {
            const page = (await get(`/api/executions?tool=strict&status=failed&limit=100`)).body;
            record = page.executions?.find((e: { error?: { message?: string } }) =>
              e.error?.message?.includes('/odd\ufffdkey'),
            );
            return record !== undefined;
          },
          10_000,
          'the step refused for an unknown argument to be recorded',
        );
        expect(record.error).toMatchObject({ code: 'INVALID_PARAMETERS' });
        // as a job, a stream or a keyed call, the same arguments are the caller's error before anything is accepted
        // or written
        const onRecord = async () => (await get('/api/executions?tool=strict&limit=1')).body.pagination.total as number;
        const recorded = await onRecord();
        for (const [query, headers] of [
          ['', { accept: 'text/event-stream' }],
          ['', { 'Idempotency-Key': 'odd-arguments' }],
        ] as const) {
          const res = await call(
            `/api/servers/recorder/tools/strict${query}`,
            '{"name":"n","count":1,"extra":1}',
            headers,
          );
          expect({ status: res.status, code: res.body.error?.code }).toEqual({
            status: 400,
            code: 'INVALID_PARAMETERS',
          });
        }
        const refused = await call(
          '/api/servers/recorder/tools/strict?mode=async',
          '{"name":"n","count":1,"odd\\u0000key":1}',
        );
        expect(refused.status).toBe(400);
        expect(refused.body.error.code).toBe('INVALID_PARAMETERS');
        // a good call after them: once it is on record, whatever the refused ones had written would be too
        const good = await call('/api/servers/recorder/tools/strict', '{"name":"n","count":1}');
        expect(good.status).toBe(200);
        await waitFor(
          async () => (await get(`/api/executions/${good.body.execution_id}`)).status === 200,
          10_000,
          'the good call to be on record',
        );
        expect(await onRecord()).toBe(recorded + 1);
      });

      it('reads an empty body as {} on this route and for JSON only; prototype-poisoning bodies are a 400', async () => {
        // the flag is this route's: the generic route still wants its body
        const generic = await call('/api/tools/pid/execute', '');
        expect(generic.status).toBe(400);
        expect(generic.body.error.message).toMatch(/cannot be empty/);
        for (const body of ['', 'x']) {
          const res = await call('/api/servers/recorder/tools/pid', body, { 'content-type': 'text/plain' });
          expect({ body, status: res.status, code: res.body.error.code }).toEqual({
            body,
            status: 415,
            code: 'UNSUPPORTED_MEDIA_TYPE',
          });
        }
        expect((await call('/api/servers/recorder/tools/pid', '  ')).status).toBe(400);
        for (const body of [
          '{"__proto__":{"polluted":1}}',
          '{"x":{"\\u005f_proto__":{"polluted":1}}}',
          '{"x":{"constructor":{"prototype":{"polluted":1}}}}',
        ]) {
          const res = await call('/api/servers/recorder/tools/pid', body);
          expect({ body, status: res.status, code: res.body.error.code }).toEqual({
            body,
            status: 400,
            code: 'INVALID_PARAMETERS',
          });
        }
        expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      });

      it('finds respond-async among other preferences in any case; one Idempotency-Key names one call on both routes', async () => {
        const job = await call('/api/servers/everything/tools/echo', '{"message":"pref"}', {
          Prefer: 'wait=5, RESPOND-ASYNC',
        });
        expect(job.status).toBe(202);
        expect(job.headers.get('preference-applied')).toBe('respond-async');
        // by the grammar: here respond-async is a parameter of `wait`, and q=0 refuses the stream — plain calls
        const plainHeaders: Record<string, string>[] = [
          { Prefer: 'wait=5; respond-async' },
          { accept: 'text/event-stream;q=0, application/json' },
        ];
        for (const headers of plainHeaders) {
          const plain = await call('/api/servers/everything/tools/echo', '{"message":"plain"}', headers);
          expect({ headers, status: plain.status, type: plain.headers.get('content-type') }).toEqual({
            headers,
            status: 200,
            type: expect.stringContaining('application/json'),
          });
          expect(plain.body.status).toBe('completed');
        }
        const key = { 'Idempotency-Key': 'both-routes' };
        const first = await call('/api/servers/everything/tools/echo', '{"message":"k"}', key);
        expect(first.status).toBe(200);
        const generic = await post('/api/tools/echo/execute', {
          server_id: 'everything',
          parameters: { message: 'k' },
          idempotency_key: 'both-routes',
        });
        expect({ status: generic.status, id: generic.body.execution_id }).toEqual({
          status: 200,
          id: first.body.execution_id,
        });
        // the same key for the same tool of another server is another call: 409
        const other = await call('/api/servers/everything-two/tools/echo', '{"message":"k"}', key);
        expect(other.status).toBe(409);
      });

      it('keeps no secret of a deeply nested body in the audit trail', async () => {
        // within the 128 levels a body may nest, deeper than the masking walks
        let args = '{"password":"deep-secret-value","note":"x"}';
        for (let i = 0; i < 100; i++) args = `{"a":${args}}`;
        const res = await call('/api/servers/recorder/tools/pid', args, { 'Idempotency-Key': 'deep-secret' });
        expect(res.status).toBe(200);
        const record = (await get(`/api/executions/${res.body.execution_id}`)).body;
        expect(record.parameters).toHaveProperty('a.a.a');
        expect(JSON.stringify(record)).not.toContain('deep-secret-value');
      });

      it('takes the Idempotency-Key header on the generic route too; body and header naming different keys: 400', async () => {
        const key = { 'Idempotency-Key': 'generic-header' };
        const body = JSON.stringify({ server_id: 'recorder', parameters: { message: 'generic' } });
        const before = await upstreamCalls('recorder');
        const first = await call('/api/tools/echo/execute', body, key);
        expect(first.status).toBe(200);
        const again = await call('/api/tools/echo/execute', body, key);
        expect(again.body.execution_id).toBe(first.body.execution_id);
        expect(await upstreamCalls('recorder')).toBe(before + 1);
        const same = JSON.stringify({
          server_id: 'recorder',
          parameters: { message: 'generic' },
          idempotency_key: 'generic-header',
        });
        expect((await call('/api/tools/echo/execute', same, key)).body.execution_id).toBe(first.body.execution_id);
        const clash = JSON.stringify({
          server_id: 'recorder',
          parameters: { message: 'generic' },
          idempotency_key: 'another',
        });
        expectInvalid(await call('/api/tools/echo/execute', clash, key), 'Idempotency-Key');
        expect(await upstreamCalls('recorder')).toBe(before + 1);
      });

      it('refuses an Idempotency-Key header given twice (Node would join them into a third key)', async () => {
        const { hostname, port } = new URL(api);
        const answer = await new Promise<{ status: number; body: any }>((resolve, reject) => {
          const req = request(
            {
              host: hostname,
              port,
              method: 'POST',
              path: '/api/servers/recorder/tools/pid',
              headers: { ...ADMIN_HEADERS, 'content-type': 'application/json', 'Idempotency-Key': ['one', 'two'] },
            },
            (res) => {
              let text = '';
              res.setEncoding('utf8');
              res.on('data', (chunk: string) => (text += chunk));
              res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
            },
          );
          req.on('error', reject);
          req.end('{}');
        });
        expectInvalid(answer, 'Idempotency-Key');
        expect(answer.body.error.details.fields[0].problems[0]).toMatch(/more than once/);
      });

      it('refuses a bad Idempotency-Key with 400 naming the header', async () => {
        for (const bad of ['with\ttab', 'k'.repeat(201)]) {
          const res = await call('/api/servers/recorder/tools/pid', '{}', { 'Idempotency-Key': bad });
          expectInvalid(res, 'Idempotency-Key');
        }
      });

      it('runs as a job with Prefer: respond-async or ?mode=async: 202 and a Location', async () => {
        const preferred = await call('/api/servers/everything/tools/echo', JSON.stringify({ message: 'job 1' }), {
          Prefer: 'respond-async',
        });
        const queried = await call(
          '/api/servers/everything/tools/echo?mode=async',
          JSON.stringify({ message: 'job 2' }),
        );
        for (const [res, text] of [
          [preferred, 'job 1'],
          [queried, 'job 2'],
        ] as const) {
          expect(res.status).toBe(202);
          expect(res.headers.get('location')).toBe(`/api/executions/${res.body.execution_id}`);
          let record: any;
          await waitFor(
            async () => {
              record = (await get(res.headers.get('location')!)).body;
              return record.status === 'completed';
            },
            10_000,
            `the job of ${text} to complete`,
          );
          expect(record.result.content[0].text).toBe(`Echo: ${text}`);
        }
        expect(preferred.headers.get('preference-applied')).toBe('respond-async');
        // an explicit ?mode=sync wins over the header
        const sync = await call('/api/servers/everything/tools/echo?mode=sync', JSON.stringify({ message: 's' }), {
          Prefer: 'respond-async',
        });
        expect(sync.status).toBe(200);
        expectInvalid(await call('/api/servers/everything/tools/echo?mode=later', '{"message":"x"}'), 'mode');
      });

      it('refuses a ?timeout= out of its bounds and options it does not know', async () => {
        // (a timeout that fires: 'times out with 504' below)
        for (const timeout of ['0', '3600001', 'soon', '1.5']) {
          expectInvalid(await call(`/api/servers/recorder/tools/pid?timeout=${timeout}`, '{}'), 'timeout');
        }
        expectInvalid(await call('/api/servers/recorder/tools/pid?idempotency_key=k', '{}'), 'idempotency_key');
      });
    });

    it('maps an upstream JSON-RPC error to 502 with its code and message', async () => {
      const res = await post('/api/servers/recorder/tools/fail', {});
      expect(res.status).toBe(502);
      expect(res.body.error.code).toBe('TOOL_EXECUTION_FAILED');
      expect(res.body.error.details.rpc_code).toEqual(expect.any(Number));
    });

    it('times out with 504 and the upstream receives the cancellation', async () => {
      const res = await post('/api/servers/recorder/tools/hang?timeout=300', {});
      expect(res.status).toBe(504);
      expect(res.body.error.code).toBe('TIMEOUT_EXCEEDED');
      const deadline = Date.now() + 5000;
      let cancelled: unknown[] = [];
      while (Date.now() < deadline && cancelled.length === 0) {
        const seen = await post('/api/servers/recorder/tools/cancellations', {});
        cancelled = JSON.parse(seen.body.result.content[0].text) as unknown[];
        if (cancelled.length === 0) await new Promise((r) => setTimeout(r, 100));
      }
      expect(cancelled.length).toBeGreaterThan(0);
    });

    it('cancels the upstream call when the HTTP client disconnects', async () => {
      const count = async () =>
        (
          JSON.parse(
            (await post('/api/servers/recorder/tools/cancellations', {})).body.result.content[0].text,
          ) as unknown[]
        ).length;
      const before = await count();
      const controller = new AbortController();
      const pending = fetch(`${api}/api/servers/recorder/tools/hang`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...ADMIN_HEADERS },
        body: '{}',
        signal: controller.signal,
      }).catch((e: Error) => e);
      await new Promise((r) => setTimeout(r, 300));
      controller.abort();
      expect(((await pending) as Error).name).toBe('AbortError');
      const deadline = Date.now() + 5000;
      let after = before;
      while (Date.now() < deadline && after === before) {
        await new Promise((r) => setTimeout(r, 100));
        after = await count();
      }
      expect(after).toBe(before + 1);
    });

    it('refuses malformed JSON, wrong media types and oversized bodies in the envelope', async () => {
      const malformed = await post('/api/tools/echo/execute', '{"parameters": {');
      expect(malformed.status).toBe(400);
      expect(malformed.body.error.code).toBe('INVALID_PARAMETERS');
      const wrongType = await fetch(`${api}/api/tools/echo/execute`, {
        method: 'POST',
        headers: { 'content-type': 'text/plain', ...ADMIN_HEADERS },
        body: 'hello',
      });
      expect(wrongType.status).toBe(415);
      expect(((await wrongType.json()) as Envelope).error.code).toBe('UNSUPPORTED_MEDIA_TYPE');
      const huge = await post('/api/tools/echo/execute', {
        server_id: 'everything',
        parameters: { message: 'x'.repeat(2 * 1024 * 1024) },
      });
      expect(huge.status).toBe(413);
      expect(huge.body.error.code).toBe('PAYLOAD_TOO_LARGE');
    });

    it('records upstream calls in Prometheus by server, method and outcome', async () => {
      const text = await (await fetch(`${gateway.addresses.metrics}/actuator/prometheus`)).text();
      expect(text).toMatch(
        /mcp_client_requests_total\{server="everything",method="tools\/call",outcome="success"\} \d+/,
      );
      expect(text).toMatch(/mcp_client_requests_total\{server="recorder",method="tools\/call",outcome="TIMEOUT"\} \d+/);
      expect(text).toMatch(/mcp_client_request_duration_seconds_count\{server="everything",method="tools\/call"\} \d+/);
      expect(text).toMatch(/mcp_server_status\{server="everything"\} 1/);
      expect(text).toContain('http_server_requests_seconds_count{method="POST",uri="/api/servers/{id}/tools/{tool}"');
    });

    it('writes discovered catalogs through to Redis under the guide cache names', async () => {
      const redis = createClient({ url: process.env.TEST_REDIS_URL });
      await redis.connect();
      try {
        for (const name of ['tool-definitions', 'resource-metadata', 'server-capabilities']) {
          expect(await redis.keys(`*${name}:recorder`)).toHaveLength(1);
        }
      } finally {
        await redis.close();
      }
    });

    it('reports every server in /actuator/health/mcp-servers', async () => {
      const res = await fetch(`${gateway.addresses.management}/actuator/health/mcp-servers`);
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ status: 'UP' });
    });
  });
});
