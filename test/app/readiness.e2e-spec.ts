import { ADMIN_HEADERS } from '../support/auth';
import { startTestGateway, type TestGateway } from '../support/test-gateway';
import { createTestDatabase, type TestDatabase } from '../support/test-database';

// Port 1 on loopback: nothing listens there, connections are refused at once.
const DEAD_REDIS = 'redis://127.0.0.1:1';

describe('readiness is the replica’s own state (Redis configured but down)', () => {
  let db: TestDatabase;
  let gateway: TestGateway;

  beforeAll(async () => {
    db = await createTestDatabase('redisdown');
    gateway = await startTestGateway({ databaseUrl: db.url, env: { REDIS_URL: DEAD_REDIS } });
  });

  afterAll(async () => {
    await gateway?.stop();
    await db?.drop();
  });

  const mgmt = (p: string, headers: Record<string, string> = {}) =>
    fetch(`${gateway.addresses.management}${p}`, { headers });

  it('is live and ready, serves the API, and says in /actuator/health which component is down', async () => {
    expect((await mgmt('/actuator/health/liveness')).status).toBe(200);
    const ready = await mgmt('/actuator/health/readiness');
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: 'UP' });
    const servers = await fetch(`${gateway.addresses.api}/api/servers`, { headers: ADMIN_HEADERS });
    expect(servers.status).toBe(200);

    const redis = await mgmt('/actuator/health/redis');
    expect(redis.status).toBe(503);
    expect(await redis.json()).toEqual({ status: 'DOWN' });
    const overall = await mgmt('/actuator/health', ADMIN_HEADERS);
    expect(overall.status).toBe(503);
    const body = (await overall.json()) as { status: string; components: Record<string, { status: string }> };
    expect(body.status).toBe('DOWN');
    expect(body.components.redis!.status).toBe('DOWN');
    expect(body.components.db!.status).toBe('UP');
  });

  it('lists neither db nor redis among the readiness components unless configured', async () => {
    const ready = (await (await mgmt('/actuator/health/readiness', ADMIN_HEADERS)).json()) as {
      components: Record<string, unknown>;
    };
    expect(Object.keys(ready.components).sort()).toEqual(['migrations', 'required-mcp-servers']);
  });
});

describe('management.endpoint.health.group.readiness.include', () => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await createTestDatabase('readinessgroup');
  });

  afterAll(async () => {
    await db?.drop();
  });

  it('adds named components to readiness: not ready while the included Redis is down', async () => {
    const gateway = await startTestGateway({
      databaseUrl: db.url,
      env: { REDIS_URL: DEAD_REDIS },
      yaml: 'management:\n  endpoint:\n    health:\n      group:\n        readiness:\n          include: readinessState,db,redis\n',
    });
    try {
      const ready = await fetch(`${gateway.addresses.management}/actuator/health/readiness`, {
        headers: ADMIN_HEADERS,
      });
      expect(ready.status).toBe(503);
      const body = (await ready.json()) as { status: string; components: Record<string, { status: string }> };
      expect(body.status).toBe('OUT_OF_SERVICE');
      expect(body.components.redis!.status).toBe('DOWN');
      expect(body.components.db!.status).toBe('UP');
    } finally {
      await gateway.stop();
    }
  });

  it('refuses to start when it names a component that does not exist', async () => {
    await expect(
      startTestGateway({
        databaseUrl: db.url,
        yaml: 'management:\n  endpoint:\n    health:\n      group:\n        readiness:\n          include: dbb\n',
      }),
    ).rejects.toThrow(/unknown health components: dbb/);
  });
});
