import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { CreateMessageRequestSchema, ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AUTH as ADMIN_HEADERS, startChildGateway, type ChildGateway } from '../ops/live-support';
import { createTestDatabase, type TestDatabase } from '../support/test-database';
import { waitFor } from '../support/wait';
import { EVERYTHING_AND_TOOLBOX_YAML } from './upstreams';

/**
 * A loopback reverse proxy that sends each request to the next replica in turn (strict alternation, the worst
 * case for sessions: consecutive requests of one session never land on the same replica twice in a row).
 */
function alternatingProxy(targets: string[]): Promise<{ url: string; hits: Map<string, string[]>; server: Server }> {
  let next = 0;
  const hits = new Map<string, string[]>(targets.map((t) => [t, []]));
  const server = createServer((req, res) => {
    const target = targets[next++ % targets.length]!;
    hits.get(target)!.push(`${req.method} ${String(req.headers['mcp-session-id'] ?? '-')}`);
    const upstream = request(`${target}${req.url}`, { method: req.method, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', () => res.destroy());
    res.on('close', () => upstream.destroy());
    req.pipe(upstream);
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, hits, server }),
    ),
  );
}

describe('MCP sessions across two gateway processes behind one loopback proxy (Redis sessions + bus)', () => {
  let db: TestDatabase;
  let a: ChildGateway;
  let b: ChildGateway;
  let proxy: Awaited<ReturnType<typeof alternatingProxy>>;
  const clients: Client[] = [];

  beforeAll(async () => {
    expect(process.env.TEST_REDIS_URL).toBeTruthy();
    db = await createTestDatabase('mcp_replicas');
    // Two gateway processes (`node dist/src/main.js`), one database, one Redis.
    const start = () =>
      startChildGateway({
        databaseUrl: db.url,
        extraYaml: EVERYTHING_AND_TOOLBOX_YAML,
        env: { REDIS_URL: process.env.TEST_REDIS_URL! },
      });
    [a, b] = await Promise.all([start(), start()]);
    for (const g of [a, b]) {
      await waitFor(
        async () => {
          const res = await fetch(`${g.api}/api/tools`, { headers: ADMIN_HEADERS });
          const body = (await res.json()) as { tools: { server_id: string }[] };
          return ['everything', 'toolbox'].every((id) => body.tools.some((t) => t.server_id === id));
        },
        30_000,
        'both servers on the replica',
      );
    }
    proxy = await alternatingProxy([a.api, b.api]);
  }, 90_000);

  afterAll(async () => {
    await Promise.allSettled(clients.map((c) => c.close()));
    proxy?.server.closeAllConnections();
    await new Promise((r) => proxy?.server.close(r));
    await a?.stop();
    await b?.stop();
    await db?.drop();
  });

  async function connect(path: string, capabilities: ConstructorParameters<typeof Client>[1] = {}): Promise<Client> {
    const client = new Client({ name: 'e2e-replicas', version: '1.0.0' }, capabilities);
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`${proxy.url}${path}`), { requestInit: { headers: ADMIN_HEADERS } }),
    );
    clients.push(client);
    return client;
  }

  it('serves one client session from both replicas: list, call, sampling answered through the other replica', async () => {
    const client = await connect('/mcp', { capabilities: { sampling: {} } });
    client.setRequestHandler(CreateMessageRequestSchema, () => ({
      model: 'replica-model',
      role: 'assistant',
      content: { type: 'text', text: 'answer from the client' },
    }));
    const sessionId = (client.transport as StreamableHTTPClientTransport).sessionId!;
    expect(sessionId).toBeTruthy();

    for (let i = 0; i < 6; i++) {
      const tools = await client.listTools();
      expect(tools.tools.map((t) => t.name)).toContain('toolbox__echo');
      const result = (await client.callTool({ name: 'toolbox__echo', arguments: { message: `m${i}` } })) as {
        content: { text: string }[];
      };
      expect(result.content[0]?.text).toBe(`Echo: m${i}`);
    }
    // The tool's sampling request goes out on the stream of the replica running the call; the client's answer is a
    // new POST, which the proxy sends to the other replica: it must cross over through the bus.
    for (let i = 0; i < 2; i++) {
      const sampled = (await client.callTool({
        name: 'everything__trigger-sampling-request',
        arguments: { prompt: `p${i}`, maxTokens: 5 },
      })) as { content: { text: string }[] };
      expect(sampled.content[0]?.text).toContain('answer from the client');
    }

    const bySession = (target: string) => proxy.hits.get(target)!.filter((h) => h.endsWith(sessionId));
    expect(bySession(a.api).length).toBeGreaterThan(3);
    expect(bySession(b.api).length).toBeGreaterThan(3);
  });

  it('delivers a cancellation that arrives on the other replica to the upstream call', async () => {
    const client = await connect('/mcp/toolbox');
    const before = await cancellations();
    const controller = new AbortController();
    const call = client.callTool({ name: 'hang', arguments: {} }, undefined, { signal: controller.signal });
    await waitFor(async () => (await inFlight()) > 0, 10_000, 'the hang call in flight');
    controller.abort('stop');
    await expect(call).rejects.toThrow();
    await waitFor(async () => (await cancellations()) > before, 10_000, 'the upstream to record the cancellation');
  });

  it('propagates list_changed to the session stream and ends the session everywhere with DELETE', async () => {
    const client = await connect('/mcp');
    let changed = 0;
    client.setNotificationHandler(ToolListChangedNotificationSchema, () => {
      changed++;
    });
    // Each replica has its own upstream processes: add a tool on both, whichever holds the stream sends it; again
    // until one arrives (a change made before the client's GET stream is open reaches nobody).
    let round = 0;
    await waitFor(
      async () => {
        if (changed > 0) return true;
        round++;
        for (const g of [a, b]) {
          const res = await fetch(`${g.api}/api/tools/add_tool/execute`, {
            method: 'POST',
            headers: { ...ADMIN_HEADERS, 'content-type': 'application/json' },
            body: JSON.stringify({ server_id: 'toolbox', parameters: { name: `late${round}` } }),
          });
          expect(res.status).toBe(200);
        }
        return false;
      },
      10_000,
      'tools/list_changed on the session stream',
      300,
    );

    const transport = client.transport as StreamableHTTPClientTransport;
    const id = transport.sessionId!;
    await transport.terminateSession();
    for (const g of [a, b]) {
      const res = await fetch(`${g.api}/mcp`, {
        method: 'POST',
        headers: {
          ...ADMIN_HEADERS,
          'mcp-session-id': id,
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
        },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
      });
      expect(res.status).toBe(404);
    }
  });

  /** Cancellations the toolbox processes of both replicas recorded. */
  async function cancellations(): Promise<number> {
    let total = 0;
    for (const g of [a, b]) {
      const res = await fetch(`${g.api}/api/tools/cancellations/execute`, {
        method: 'POST',
        headers: { ...ADMIN_HEADERS, 'content-type': 'application/json' },
        body: JSON.stringify({ server_id: 'toolbox', parameters: {} }),
      });
      const body = (await res.json()) as { result: { content: { text: string }[] } };
      total += (JSON.parse(body.result.content[0]!.text) as unknown[]).length;
    }
    return total;
  }

  /** Calls in flight on the toolbox of either replica. */
  async function inFlight(): Promise<number> {
    let total = 0;
    for (const g of [a, b]) {
      const res = await fetch(`${g.api}/api/servers/toolbox`, { headers: ADMIN_HEADERS });
      const body = (await res.json()) as { pool?: { in_flight?: number }; metrics?: { in_flight?: number } };
      total += body.pool?.in_flight ?? body.metrics?.in_flight ?? 0;
    }
    return total;
  }
});
