import { ADMIN_HEADERS } from '../support/auth';
import { TOOLBOX } from '../support/paths';
import { createTestDatabase, type TestDatabase } from '../support/test-database';
import { startTestGateway, type TestGateway } from '../support/test-gateway';

describe('MCP front door under the REST rate limit', () => {
  let db: TestDatabase;
  let gateway: TestGateway;

  beforeAll(async () => {
    db = await createTestDatabase('mcp_rate_limit');
    gateway = await startTestGateway({
      databaseUrl: db.url,
      rateLimiting: true,
      yaml: `spring:
  cache:
    redis:
      key-prefix: "mcp-rate-e2e-${process.pid}:"
mcp:
  security:
    rate-limiting:
      enabled: true
      requests-per-minute: 3
      burst-capacity: 3
  servers:
    toolbox:
      type: stdio
      command: node
      args: ["${TOOLBOX}"]
`,
    });
  }, 60_000);

  afterAll(async () => {
    await gateway?.stop();
    await db?.drop();
  });

  it('counts each MCP request against the caller and answers 429 with Retry-After and the envelope', async () => {
    // A key of its own: a bucket no other test (or gateway sharing the Redis) draws from.
    const created = await fetch(`${gateway.addresses.api}/api/api-keys`, {
      method: 'POST',
      headers: { ...ADMIN_HEADERS, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'mcp-rate', scopes: ['mcp:read'] }),
    });
    expect(created.status).toBe(201);
    const key = ((await created.json()) as { key: string }).key;
    const post = () =>
      fetch(`${gateway.addresses.api}/mcp/toolbox`, {
        method: 'POST',
        headers: {
          'X-API-Key': key,
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
        },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' }),
      });
    const statuses: number[] = [];
    let refused: Response | undefined;
    for (let i = 0; i < 10 && !refused; i++) {
      const res = await post();
      statuses.push(res.status);
      if (res.status === 429) refused = res;
      else await res.text();
    }
    expect(statuses.slice(0, 3)).toEqual([200, 200, 200]);
    expect(refused).toBeDefined();
    expect(refused!.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(refused!.headers.get('x-ratelimit-limit')).toBeTruthy();
    const body = (await refused!.json()) as { error: { code: string } };
    expect(body.error.code).toBe('RATE_LIMIT_EXCEEDED');
  });
});
