import { createClient } from '@keyv/redis';
import { CACHE_MANAGER, type Cache } from '@nestjs/cache-manager';
import { ADMIN_HEADERS } from '../support/auth';
import { startTestGateway, type TestGateway } from '../support/test-gateway';
import { createTestDatabase, type TestDatabase } from '../support/test-database';

describe('the gateway listeners (real PostgreSQL and Redis)', () => {
  let db: TestDatabase;
  let gateway: TestGateway;

  beforeAll(async () => {
    db = await createTestDatabase('gateway');
    gateway = await startTestGateway({ databaseUrl: db.url });
  });

  afterAll(async () => {
    await gateway?.stop();
    await db?.drop();
  });

  const api = (p: string, init?: RequestInit) => fetch(`${gateway.addresses.api}${p}`, init);
  const mgmt = (p: string, headers: Record<string, string> = {}) =>
    fetch(`${gateway.addresses.management}${p}`, { headers });

  it('reports ready, live and started once the database is reachable', async () => {
    for (const probe of ['readiness', 'liveness', 'startup']) {
      const res = await mgmt(`/actuator/health/${probe}`);
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ status: 'UP' });
    }
    const dbHealth = await mgmt('/actuator/health/db');
    expect(dbHealth.status).toBe(200);
    expect(await dbHealth.json()).toEqual({ status: 'UP' });
  });

  it('checks Redis with a real round trip', async () => {
    const res = await mgmt('/actuator/health/redis');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'UP' });
  });

  it('caches in the real Redis, with spring.cache.redis.time-to-live as the default TTL', async () => {
    const cache = gateway.api.get<Cache>(CACHE_MANAGER);
    const key = `probe-${Date.now()}`;
    await cache.set(key, { hello: 'redis' });
    expect(await cache.get(key)).toEqual({ hello: 'redis' });
    const redis = createClient({ url: process.env.TEST_REDIS_URL });
    await redis.connect();
    try {
      const keys = await redis.keys(`*${key}*`);
      expect(keys).toHaveLength(1);
      const ttl = await redis.pTTL(keys[0]!);
      expect(ttl).toBeGreaterThan(3_500_000);
      expect(ttl).toBeLessThanOrEqual(3_600_000);
    } finally {
      await redis.close();
    }
  });

  it('hides component details from anonymous callers (show-details: when-authorized)', async () => {
    const res = await mgmt('/actuator/health');
    const body = (await res.json()) as Record<string, unknown>;
    expect(body.status).toBe('UP');
    expect(body.components).toBeUndefined();
  });

  it('answers an unknown health component with 404 in the envelope', async () => {
    const res = await mgmt('/actuator/health/nope');
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('RESOURCE_NOT_FOUND');
  });

  it('serves an OpenAPI 3 document at /v3/api-docs and /docs-json, and Swagger UI at /docs', async () => {
    const doc = (await (await api('/v3/api-docs')).json()) as { openapi: string; info: { title: string } };
    expect(doc.openapi).toMatch(/^3\./);
    expect(doc.info.title).toBe('globalmcp');
    expect(await (await api('/docs-json')).json()).toEqual(doc);
    const ui = await api('/docs');
    expect(ui.status).toBe(200);
    expect(await ui.text()).toContain('swagger-ui');
    const legacy = await api('/swagger-ui.html', { redirect: 'manual' });
    expect(legacy.status).toBe(302);
    expect(legacy.headers.get('location')).toBe('/docs');
  });

  it('answers unknown routes with the error envelope and the request id', async () => {
    const res = await api('/api/does-not-exist');
    expect(res.status).toBe(404);
    const requestId = res.headers.get('x-request-id');
    expect(requestId).toMatch(/^[0-9a-f-]{36}$/);
    const body = (await res.json()) as { error: Record<string, unknown> };
    expect(body.error).toEqual({
      code: 'RESOURCE_NOT_FOUND',
      message: expect.stringContaining('/api/does-not-exist'),
      details: null,
      request_id: requestId,
      timestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    });
    expect(JSON.stringify(body)).not.toMatch(/at \w+ \(|\.ts:\d+/);
  });

  it('keeps a sane X-Request-Id from the caller and replaces an unsafe one', async () => {
    const kept = await api('/api/nothing', { headers: { 'x-request-id': 'trace-42.abc' } });
    expect(kept.headers.get('x-request-id')).toBe('trace-42.abc');
    expect(((await kept.json()) as { error: { request_id: string } }).error.request_id).toBe('trace-42.abc');
    const replaced = await api('/api/nothing', { headers: { 'x-request-id': 'bad id with spaces' } });
    expect(replaced.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('does not serve management routes on the API port, nor API docs on the management port', async () => {
    expect((await api('/actuator/health')).status).toBe(404);
    expect((await mgmt('/v3/api-docs')).status).toBe(404);
  });

  it('exposes Prometheus text on the management port and the scrape port, timed by route template', async () => {
    await api('/api/does-not-exist');
    await mgmt('/actuator/health/liveness');
    for (const base of [gateway.addresses.management, gateway.addresses.metrics!]) {
      const res = await fetch(`${base}/actuator/prometheus`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toContain('text/plain');
      const text = await res.text();
      expect(text).toMatch(/^process_cpu_user_seconds_total /m);
      expect(text).toMatch(/^nodejs_eventloop_lag_seconds /m);
      expect(text).toContain('http_server_requests_seconds_bucket{');
      expect(text).toMatch(
        /http_server_requests_seconds_count\{method="GET",uri="\/actuator\/health\/liveness",status="200",outcome="SUCCESS"\} \d+/,
      );
      expect(text).toMatch(
        /http_server_requests_seconds_count\{method="GET",uri="NOT_FOUND",status="404",outcome="CLIENT_ERROR"\} \d+/,
      );
      expect(text).not.toContain('uri="/api/does-not-exist"');
    }
  });

  it('lists metric names and shows one metric by name, Spring style', async () => {
    const names = (await (await mgmt('/actuator/metrics', ADMIN_HEADERS)).json()) as { names: string[] };
    expect(names.names).toEqual(
      expect.arrayContaining(['http_server_requests_seconds', 'process_resident_memory_bytes']),
    );
    const rss = (await (await mgmt('/actuator/metrics/process.resident.memory.bytes', ADMIN_HEADERS)).json()) as {
      measurements: { statistic: string; value: number }[];
    };
    expect(rss.measurements[0]!.statistic).toBe('VALUE');
    expect(rss.measurements[0]!.value).toBeGreaterThan(10 * 1024 * 1024);
    expect((await mgmt('/actuator/metrics/no_such_metric', ADMIN_HEADERS)).status).toBe(404);
  });

  it('describes itself at /actuator/info (to an admin)', async () => {
    const info = (await (await mgmt('/actuator/info', ADMIN_HEADERS)).json()) as Record<string, any>;
    expect(info.app.name).toBe('globalmcp');
    expect(info.build.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(info.runtime.node).toBe(process.version);
    expect(info.git.commit).toHaveProperty('id');
  });
});
