import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport, StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ADMIN_HEADERS } from '../support/auth';
import { TOOLBOX } from '../support/paths';
import { createTestDatabase, type TestDatabase } from '../support/test-database';
import { startTestGateway, type TestGateway } from '../support/test-gateway';
import { waitFor } from '../support/wait';

const IDLE_MS = 1500;
const MAX_SESSIONS = 2;

describe('MCP sessions: idle expiry and the bound on live sessions (Redis store)', () => {
  let db: TestDatabase;
  let gateway: TestGateway;
  let base: string;
  const clients: Client[] = [];

  beforeAll(async () => {
    db = await createTestDatabase('mcp_sessions');
    gateway = await startTestGateway({
      databaseUrl: db.url,
      // A key prefix of its own: the bound counts the sessions of every gateway sharing the Redis.
      yaml: `spring:
  cache:
    redis:
      key-prefix: "mcp-sessions-e2e-${process.pid}:"
mcp:
  endpoint:
    session-idle-timeout: ${IDLE_MS}
    max-sessions: ${MAX_SESSIONS}
  servers:
    toolbox:
      type: stdio
      command: node
      args: ["${TOOLBOX}"]
`,
    });
    base = gateway.addresses.api;
    await waitFor(
      async () =>
        (
          (await (await fetch(`${base}/api/tools?server_id=toolbox`, { headers: ADMIN_HEADERS })).json()) as {
            total_count: number;
          }
        ).total_count > 0,
      20_000,
      'toolbox tools',
    );
  }, 60_000);

  afterAll(async () => {
    await Promise.allSettled(clients.map((c) => c.close()));
    await gateway?.stop();
    await db?.drop();
  });

  async function connect(): Promise<Client> {
    const client = new Client({ name: 'e2e-sessions', version: '1.0.0' });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`${base}/mcp/toolbox`), { requestInit: { headers: ADMIN_HEADERS } }),
    );
    clients.push(client);
    return client;
  }

  const postWith = (sessionId: string) =>
    fetch(`${base}/mcp/toolbox`, {
      method: 'POST',
      headers: {
        ...ADMIN_HEADERS,
        'mcp-session-id': sessionId,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' }),
    });

  it('refuses a session beyond mcp.endpoint.max-sessions with 503, and accepts one again once a session ends', async () => {
    const first = await connect();
    await connect();
    const third = await connect().catch((e: unknown) => e);
    expect(third).toBeInstanceOf(StreamableHTTPError);
    expect((third as StreamableHTTPError).code).toBe(503);
    expect(String((third as Error).message)).toContain('max-sessions');

    await (first.transport as StreamableHTTPClientTransport).terminateSession();
    const again = await connect();
    expect((await again.listTools()).tools.length).toBeGreaterThan(0);
    for (const c of clients)
      await (c.transport as StreamableHTTPClientTransport).terminateSession().catch(() => undefined);
  });

  it('expires a session after the idle timeout (404), while requests keep it alive', async () => {
    const client = await connect();
    const id = (client.transport as StreamableHTTPClientTransport).sessionId!;
    // Requests spaced below the idle timeout keep it: the timer restarts on each.
    for (let i = 0; i < 3; i++) {
      await new Promise((r) => setTimeout(r, IDLE_MS / 2));
      expect((await postWith(id)).status).toBe(200);
    }
    // Close the client (its GET stream would keep the session alive), send nothing for longer than the timeout.
    await client.close();
    await new Promise((r) => setTimeout(r, IDLE_MS + 1000));
    expect((await postWith(id)).status).toBe(404);
  });
});

describe('MCP sessions with Redis configured but down', () => {
  let db: TestDatabase;
  let gateway: TestGateway;
  const clients: Client[] = [];

  beforeAll(async () => {
    db = await createTestDatabase('mcp_sessions_noredis');
    // Port 1 on loopback: nothing listens there. The gateway starts anyway and keeps sessions in memory.
    gateway = await startTestGateway({
      databaseUrl: db.url,
      env: { REDIS_URL: 'redis://127.0.0.1:1' },
      yaml: `mcp:\n  servers:\n    toolbox:\n      type: stdio\n      command: node\n      args: ["${TOOLBOX}"]\n`,
    });
  }, 60_000);

  afterAll(async () => {
    await Promise.allSettled(clients.map((c) => c.close()));
    await gateway?.stop();
    await db?.drop();
  });

  it('serves sessions from memory (one replica) instead of failing', async () => {
    const client = new Client({ name: 'e2e-noredis', version: '1.0.0' });
    clients.push(client);
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`${gateway.addresses.api}/mcp/toolbox`), {
        requestInit: { headers: ADMIN_HEADERS },
      }),
    );
    await waitFor(async () => (await client.listTools()).tools.length > 0, 20_000, 'toolbox tools');
    const result = (await client.callTool({ name: 'echo', arguments: { message: 'no redis' } })) as {
      content: { text: string }[];
    };
    expect(result.content[0]?.text).toBe('Echo: no redis');
  });
});
