import { createClient } from '@keyv/redis';
import { CACHE_MANAGER, type Cache } from '@nestjs/cache-manager';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { RedisProcess } from '../faults/redis-process';
import { ADMIN_HEADERS } from '../support/auth';
import { createTestDatabase, type TestDatabase } from '../support/test-database';
import { startTestGateway, type TestGateway } from '../support/test-gateway';
import { waitFor } from '../support/wait';

/**
 * Redis goes away while the gateway runs and comes back: the gateway keeps serving throughout (buckets, caches and
 * sessions in this process), says so once in the log and in `redis_up`, and shares state again once Redis is back,
 * without a restart.
 */
describe('a Redis outage at run time', () => {
  let db: TestDatabase;
  let redis: RedisProcess;
  let gateway: TestGateway;
  let logDir: string;
  let logFile: string;
  const clients: Client[] = [];

  beforeAll(async () => {
    db = await createTestDatabase('redisoutage');
    redis = await RedisProcess.start();
    logDir = mkdtempSync(path.join(tmpdir(), 'globalmcp-redis-outage-'));
    logFile = path.join(logDir, 'gateway.log');
    gateway = await startTestGateway({
      databaseUrl: db.url,
      rateLimiting: true,
      env: { REDIS_URL: redis.url },
      yaml: `logging:\n  level:\n    Redis: INFO\n  file:\n    name: ${logFile}\n`,
    });
  });

  afterAll(async () => {
    await Promise.allSettled(clients.map((c) => c.close()));
    await gateway?.stop();
    await redis?.down();
    await db?.drop();
    rmSync(logDir, { recursive: true, force: true });
  });

  const api = (p: string) => fetch(`${gateway.addresses.api}${p}`, { headers: ADMIN_HEADERS });
  const redisUp = async () => {
    const text = await (
      await fetch(`${gateway.addresses.management}/actuator/prometheus`, { headers: ADMIN_HEADERS })
    ).text();
    return Number(/^redis_up (\S+)$/m.exec(text)?.[1]);
  };
  const logLines = (needle: string) =>
    existsSync(logFile)
      ? readFileSync(logFile, 'utf8')
          .split('\n')
          .filter((l) => l.includes(needle))
      : [];
  const bucketKeys = async () => {
    const client = createClient({ url: redis.url });
    await client.connect();
    try {
      return await client.keys('*rl:*');
    } finally {
      await client.close();
    }
  };
  async function mcpSession(): Promise<Client> {
    const client = new Client({ name: 'e2e-redis-outage', version: '1.0.0' });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`${gateway.addresses.api}/mcp`), {
        requestInit: { headers: ADMIN_HEADERS },
      }),
    );
    clients.push(client);
    return client;
  }

  it('serves with shared buckets while Redis is up', async () => {
    expect(await redisUp()).toBe(1);
    const res = await api('/api/servers');
    expect(res.status).toBe(200);
    expect(res.headers.get('x-ratelimit-remaining')).not.toBeNull();
    expect((await bucketKeys()).length).toBeGreaterThan(0);
  });

  let outageSession: Client;

  it('keeps serving while Redis is down: local buckets, memory cache, sessions on this replica, ready', async () => {
    await redis.down();
    await waitFor(async () => (await redisUp()) === 0, 10_000, 'redis_up to drop to 0');
    for (let i = 0; i < 30; i++) {
      const res = await api('/api/servers');
      expect(res.status).toBe(200);
      expect(res.headers.get('x-ratelimit-remaining')).not.toBeNull();
    }
    expect((await fetch(`${gateway.addresses.management}/actuator/health/readiness`)).status).toBe(200);

    const cache = gateway.api.get<Cache>(CACHE_MANAGER);
    await cache.set('outage-probe', { kept: 'in memory' });
    expect(await cache.get('outage-probe')).toEqual({ kept: 'in memory' });

    outageSession = await mcpSession();
    await expect(outageSession.ping()).resolves.toBeDefined();

    // One warning for the outage, whatever the number of requests that met it.
    await waitFor(() => logLines('unavailable').length > 0, 5_000, 'the outage warning in the log');
    expect(logLines('unavailable')).toHaveLength(1);
  });

  it('shares state again once Redis is back, without a restart; sessions made during the outage go on', async () => {
    await redis.up();
    await waitFor(async () => (await redisUp()) === 1, 15_000, 'redis_up back to 1');
    const res = await api('/api/servers');
    expect(res.status).toBe(200);
    expect((await bucketKeys()).length).toBeGreaterThan(0); // the fresh Redis holds the buckets again

    const cache = gateway.api.get<Cache>(CACHE_MANAGER);
    expect(await cache.get('outage-probe')).toBeUndefined(); // reads go to the shared store again
    await cache.set('after-probe', 1);
    const client = createClient({ url: redis.url });
    await client.connect();
    try {
      expect(await client.keys('*after-probe*')).toHaveLength(1);
    } finally {
      await client.close();
    }

    await expect(outageSession.ping()).resolves.toBeDefined();
    await expect((await mcpSession()).ping()).resolves.toBeDefined();
    await waitFor(() => logLines('answers again').length > 0, 5_000, 'the recovery line in the log');
    expect(logLines('answers again')).toHaveLength(1);
    expect(logLines('unavailable')).toHaveLength(1);
  });
});
