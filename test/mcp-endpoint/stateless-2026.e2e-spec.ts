import { LATEST_PROTOCOL_VERSION } from '@modelcontextprotocol/sdk/types.js';
import { Client as ModernClient, StreamableHTTPClientTransport as ModernTransport } from '@modelcontextprotocol/client';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ADMIN_HEADERS } from '../support/auth';
import { createTestDatabase, type TestDatabase } from '../support/test-database';
import { startTestGateway, type TestGateway } from '../support/test-gateway';
import { EVERYTHING_AND_TOOLBOX_YAML, textOf, waitForTools } from './upstreams';

const REVISION = '2026-07-28';
const ENVELOPE = {
  'io.modelcontextprotocol/protocolVersion': REVISION,
  'io.modelcontextprotocol/clientCapabilities': {},
  'io.modelcontextprotocol/clientInfo': { name: 'raw-e2e', version: '1.0.0' },
};

interface RpcAnswer {
  status: number;
  contentType: string;
  /** The JSON-RPC response (the last message of an event stream). */
  body: { result?: Record<string, unknown>; error?: { code: number; message: string; data?: unknown } };
  /** Everything before the response on an event stream (progress, log messages). */
  notifications: { method: string; params?: Record<string, unknown> }[];
}

interface Execution {
  execution_id: string;
  channel: string;
  protocol_version: string | null;
  status: string;
  tool_name: string;
}

/** MCP 2026-07-28 on the same URLs as the 2025 revisions, served by real upstreams over stdio (issue #13). */
describe('MCP 2026-07-28 (stateless) beside the 2025 revisions on /mcp and /mcp/{server_id}', () => {
  let db: TestDatabase;
  let gateway: TestGateway;
  let base: string;
  let nextId = 1;

  beforeAll(async () => {
    db = await createTestDatabase('mcp_stateless_2026');
    gateway = await startTestGateway({
      databaseUrl: db.url,
      yaml: `${EVERYTHING_AND_TOOLBOX_YAML}  endpoint:\n    list-ttl: 30s\n`,
    });
    base = gateway.addresses.api;
    await waitForTools(base, ['everything', 'toolbox']);
  }, 60_000);

  afterAll(async () => {
    await gateway?.stop();
    await db?.drop();
  });

  /** One raw 2026-07-28 POST: the standard headers from the body unless `headers` says otherwise. */
  async function rpc(
    path: string,
    method: string,
    params: Record<string, unknown> = {},
    options: { headers?: Record<string, string>; meta?: Record<string, unknown> | null } = {},
  ): Promise<RpcAnswer> {
    const name = typeof params.name === 'string' ? params.name : typeof params.uri === 'string' ? params.uri : '';
    const meta = options.meta === null ? undefined : (options.meta ?? ENVELOPE);
    const res = await fetch(`${base}${path}`, {
      method: 'POST',
      headers: {
        ...ADMIN_HEADERS,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'mcp-protocol-version': REVISION,
        'mcp-method': method,
        ...(name ? { 'mcp-name': name } : {}),
        ...options.headers,
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: nextId++, method, params: { ...params, _meta: meta } }),
    });
    const contentType = res.headers.get('content-type') ?? '';
    const text = await res.text();
    const messages = contentType.startsWith('text/event-stream')
      ? text
          .split('\n')
          .filter((line) => line.startsWith('data: '))
          .map((line) => JSON.parse(line.slice(6)) as Record<string, unknown>)
      : [JSON.parse(text) as Record<string, unknown>];
    const body = messages.find((m) => 'result' in m || 'error' in m) as RpcAnswer['body'];
    const notifications = messages.filter((m) => 'method' in m) as RpcAnswer['notifications'];
    return { status: res.status, contentType, body, notifications };
  }

  async function executions(tool: string): Promise<Execution[]> {
    const res = await fetch(`${base}/api/executions?tool=${tool}&limit=100`, { headers: ADMIN_HEADERS });
    return ((await res.json()) as { executions: Execution[] }).executions;
  }

  describe('server/discover', () => {
    it('names the supported revision, the capabilities of the view and the upstream it presents', async () => {
      const answer = await rpc('/mcp/everything', 'server/discover');
      expect(answer.status).toBe(200);
      const result = answer.body.result as {
        supportedVersions: string[];
        capabilities: Record<string, unknown>;
        resultType: string;
        ttlMs: number;
        cacheScope: string;
        _meta: Record<string, { name: string }>;
      };
      expect(result.supportedVersions).toContain(REVISION);
      expect(result.resultType).toBe('complete');
      expect(result.capabilities).toEqual(
        // listChanged and subscribe: what subscriptions/listen delivers (subscriptions-listen.e2e-spec.ts).
        expect.objectContaining({
          tools: { listChanged: true },
          resources: { subscribe: true, listChanged: true },
          prompts: { listChanged: true },
          completions: {},
        }),
      );
      // Presented as the upstream itself, as a direct client would see it.
      expect(result._meta['io.modelcontextprotocol/serverInfo']?.name).toMatch(/everything/i);
      // Cacheable (mcp.endpoint.list-ttl: 30s), per caller since the request carries a credential.
      expect(result.ttlMs).toBe(30_000);
      expect(result.cacheScope).toBe('private');

      const aggregated = await rpc('/mcp', 'server/discover');
      expect(
        (aggregated.body.result?._meta as Record<string, { name: string }>)['io.modelcontextprotocol/serverInfo'],
      ).toEqual(expect.objectContaining({ name: 'globalmcp' }));
    });
  });

  describe('lists, reads and prompts', () => {
    it('lists tools under their own names on /mcp/{id} and namespaced on /mcp, cacheable, with resultType', async () => {
      const own = await rpc('/mcp/toolbox', 'tools/list');
      expect(own.status).toBe(200);
      expect(own.body.result).toEqual(
        expect.objectContaining({ resultType: 'complete', ttlMs: 30_000, cacheScope: 'private' }),
      );
      expect((own.body.result?.tools as { name: string }[]).map((t) => t.name)).toContain('echo');
      const all = await rpc('/mcp', 'tools/list');
      const names = (all.body.result?.tools as { name: string }[]).map((t) => t.name);
      expect(names).toEqual(expect.arrayContaining(['toolbox__echo', 'everything__echo']));
    });

    it('lists and reads resources and templates and gets prompts, each a complete result', async () => {
      const resources = await rpc('/mcp/toolbox', 'resources/list');
      expect(resources.body.result).toEqual(expect.objectContaining({ resultType: 'complete', ttlMs: 30_000 }));
      const uri = (resources.body.result?.resources as { uri: string }[])[0]?.uri ?? '';
      const templates = await rpc('/mcp/toolbox', 'resources/templates/list');
      expect(templates.body.result?.resourceTemplates).toEqual([expect.objectContaining({ name: 'doc by number' })]);

      const read = await rpc('/mcp', 'resources/read', { uri });
      expect(read.status).toBe(200);
      // mcp.endpoint.read-ttl defaults to 0: read again each time.
      expect(read.body.result).toEqual(
        expect.objectContaining({ resultType: 'complete', ttlMs: 0, cacheScope: 'private' }),
      );
      expect((read.body.result?.contents as { uri: string }[])[0]?.uri).toBe(uri);

      const prompts = await rpc('/mcp/everything', 'prompts/list');
      const prompt = (prompts.body.result?.prompts as { name: string; arguments?: unknown[] }[]).find(
        (p) => !p.arguments?.length,
      );
      expect(prompt).toBeDefined();
      const got = await rpc('/mcp/everything', 'prompts/get', { name: prompt?.name ?? '' });
      expect(got.body.result).toEqual(expect.objectContaining({ resultType: 'complete' }));
      expect(got.body.result?.messages).toEqual(expect.arrayContaining([expect.objectContaining({ role: 'user' })]));

      const missing = await rpc('/mcp', 'resources/read', { uri: 'nowhere://at/all' });
      expect(missing.status).toBe(200);
      expect(missing.body.error?.code).toBe(-32602);
    });
  });

  describe('tools/call on the call pipeline', () => {
    it('calls through the pipeline, recorded once with channel mcp; Mcp-Session-Id and Last-Event-ID are ignored', async () => {
      const message = `modern-${Date.now()}`;
      const answer = await rpc(
        '/mcp',
        'tools/call',
        { name: 'toolbox__echo', arguments: { message } },
        { headers: { 'mcp-session-id': 'no-such-session', 'last-event-id': '42' } },
      );
      expect(answer.status).toBe(200);
      expect(answer.body.result).toEqual(
        expect.objectContaining({ resultType: 'complete', structuredContent: { echoed: message } }),
      );
      const recorded = await executions('echo');
      expect(recorded.filter((e) => e.channel === 'mcp' && e.status === 'completed').length).toBeGreaterThan(0);
    });

    it('validates arguments as on every path (the pipeline refuses, the client gets invalid params)', async () => {
      const answer = await rpc('/mcp/everything', 'tools/call', { name: 'get-sum', arguments: { a: 'one' } });
      expect(answer.status).toBe(200);
      expect(answer.body.error?.code).toBe(-32602);
    });

    it('streams progress, and log messages only at or above the level the request asks for', async () => {
      const call = (level?: string) =>
        rpc(
          '/mcp/toolbox',
          'tools/call',
          { name: 'progress', arguments: { steps: 2 } },
          {
            meta: {
              ...ENVELOPE,
              progressToken: 'p1',
              ...(level ? { 'io.modelcontextprotocol/logLevel': level } : {}),
            },
          },
        );
      const info = await call('info');
      expect(info.contentType).toMatch(/^text\/event-stream/);
      expect(info.notifications.filter((n) => n.method === 'notifications/progress')).toHaveLength(2);
      expect(info.notifications).toContainEqual(
        expect.objectContaining({
          method: 'notifications/message',
          params: expect.objectContaining({ level: 'info' }),
        }),
      );
      expect(textOf(info.body.result)).toBe('done');
      for (const quiet of [await call('error'), await call()]) {
        expect(quiet.notifications.filter((n) => n.method === 'notifications/message')).toHaveLength(0);
        expect(textOf(quiet.body.result)).toBe('done');
      }
    });

    it('keeps the route guards: tools/call without mcp:write is 403, before anything runs', async () => {
      const res = await fetch(`${base}/api/api-keys`, {
        method: 'POST',
        headers: { ...ADMIN_HEADERS, 'content-type': 'application/json' },
        body: JSON.stringify({ name: `read-only-${Date.now()}`, scopes: ['mcp:read'] }),
      });
      const key = ((await res.json()) as { key: string }).key;
      const listed = await rpc('/mcp/toolbox', 'tools/list', {}, { headers: { 'X-API-Key': key } });
      expect(listed.status).toBe(200);
      const refused = await fetch(`${base}/mcp/toolbox`, {
        method: 'POST',
        headers: {
          'X-API-Key': key,
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          'mcp-protocol-version': REVISION,
          'mcp-method': 'tools/call',
          'mcp-name': 'echo',
        },
        body: JSON.stringify({
          jsonrpc: '2.0',
          id: 1,
          method: 'tools/call',
          params: { name: 'echo', arguments: { message: 'x' }, _meta: ENVELOPE },
        }),
      });
      expect(refused.status).toBe(403);
    });
  });

  describe('bad input: a clear JSON-RPC error with the right HTTP status, nothing recorded', () => {
    let before = 0;
    beforeAll(async () => {
      before = (await executions('echo')).length;
    });
    const refusedCall = (options: Parameters<typeof rpc>[3], params: Record<string, unknown> = {}) =>
      rpc('/mcp/toolbox', 'tools/call', { name: 'echo', arguments: { message: 'refused' }, ...params }, options);

    it('refuses an unsupported revision with 400, the version-mismatch code and the supported list', async () => {
      const answer = await refusedCall({
        headers: { 'mcp-protocol-version': '2099-01-01' },
        meta: { ...ENVELOPE, 'io.modelcontextprotocol/protocolVersion': '2099-01-01' },
      });
      expect(answer.status).toBe(400);
      expect(answer.body.error?.code).toBe(-32022);
      expect(answer.body.error?.data).toEqual(expect.objectContaining({ supported: [REVISION] }));
    });

    it('refuses a missing or malformed envelope with invalid params naming the key', async () => {
      const { 'io.modelcontextprotocol/clientCapabilities': _dropped, ...noCaps } = ENVELOPE;
      const missing = await refusedCall({ meta: noCaps });
      expect(missing.status).toBe(400);
      expect(missing.body.error?.code).toBe(-32602);
      expect(missing.body.error?.message).toContain('io.modelcontextprotocol/clientCapabilities');

      const malformed = await refusedCall({ meta: { ...ENVELOPE, 'io.modelcontextprotocol/clientCapabilities': 5 } });
      expect(malformed.status).toBe(400);
      expect(malformed.body.error?.code).toBe(-32602);
      expect(malformed.body.error?.message).toContain('io.modelcontextprotocol/clientCapabilities');

      const none = await refusedCall({ meta: null });
      expect(none.status).toBe(400);
      expect(none.body.error?.code).toBe(-32602);
      expect(none.body.error?.message).toContain('_meta');
    });

    it('refuses headers that disagree with the body with 400 (-32020)', async () => {
      const mismatches: Record<string, string>[] = [
        { 'mcp-method': 'tools/list' },
        { 'mcp-name': 'pid' },
        { 'mcp-protocol-version': '2025-11-25' },
      ];
      for (const headers of mismatches) {
        const answer = await refusedCall({ headers });
        expect(answer.status).toBe(400);
        expect(answer.body.error?.code).toBe(-32020);
      }
    });

    it('answers GET and DELETE of the 2026 revision with 405', async () => {
      for (const method of ['GET', 'DELETE']) {
        const res = await fetch(`${base}/mcp/toolbox`, {
          method,
          headers: { ...ADMIN_HEADERS, accept: 'text/event-stream', 'mcp-protocol-version': REVISION },
        });
        expect(res.status).toBe(405);
        expect(((await res.json()) as { error: { code: number } }).error.code).toBeLessThan(0);
      }
    });

    it('recorded none of the refused calls', async () => {
      expect((await executions('echo')).length).toBe(before);
    });
  });

  describe('real clients of both eras on the same URL at the same time', () => {
    it('serves the SDK 2 client in 2026-07-28 mode and the SDK 1 client (2025-11-25) side by side', async () => {
      const modern = new ModernClient(
        { name: 'e2e-modern', version: '1.0.0' },
        { versionNegotiation: { mode: { pin: REVISION } } },
      );
      const older = new Client({ name: 'e2e-2025', version: '1.0.0' });
      const url = new URL(`${base}/mcp/everything`);
      const before = await executions('echo');
      try {
        await Promise.all([
          modern.connect(new ModernTransport(url, { requestInit: { headers: ADMIN_HEADERS } })),
          older.connect(new StreamableHTTPClientTransport(url, { requestInit: { headers: ADMIN_HEADERS } })),
        ]);
        expect(modern.getProtocolEra()).toBe('modern');
        expect(modern.getNegotiatedProtocolVersion()).toBe(REVISION);
        expect(older.getServerVersion()?.name).toMatch(/everything/i);
        const calls = Array.from({ length: 4 }, (_, i) => i);
        const [modernResults, olderResults] = await Promise.all([
          Promise.all(calls.map((i) => modern.callTool({ name: 'echo', arguments: { message: `m${i}` } }))),
          Promise.all(calls.map((i) => older.callTool({ name: 'echo', arguments: { message: `o${i}` } }))),
        ]);
        expect(modernResults.map((r) => textOf(r))).toEqual(calls.map((i) => `Echo: m${i}`));
        expect(olderResults.map((r) => textOf(r))).toEqual(calls.map((i) => `Echo: o${i}`));
        const [modernTools, olderTools] = await Promise.all([modern.listTools(), older.listTools()]);
        expect(modernTools.tools.map((t) => t.name).sort()).toEqual(olderTools.tools.map((t) => t.name).sort());
      } finally {
        await Promise.allSettled([modern.close(), older.close()]);
      }
      // Each of the 8 calls on record once, on the mcp channel, whichever revision made it.
      const seen = new Set(before.map((e) => e.execution_id));
      const added = (await executions('echo')).filter((e) => !seen.has(e.execution_id));
      expect(added).toHaveLength(8);
      expect(added.every((e) => e.channel === 'mcp' && e.status === 'completed')).toBe(true);
      // ... and each names the revision it came in with: 4 stateless calls, 4 of the 2025 session.
      expect(added.map((e) => e.protocol_version).sort()).toEqual([
        ...Array(4).fill(LATEST_PROTOCOL_VERSION),
        ...Array(4).fill(REVISION),
      ]);
    });
  });
});
