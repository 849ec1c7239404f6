import { ADMIN_HEADERS } from '../support/auth';
import { createTestDatabase, type TestDatabase } from '../support/test-database';
import { startTestGateway, type TestGateway } from '../support/test-gateway';

interface Answer {
  status: number;
  headers: Headers;
  body: any;
}

const call = async (base: string, method: string, p: string, headers: Record<string, string>, body?: unknown) => {
  const res = await fetch(`${base}${p}`, {
    method,
    headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
    body: body !== undefined ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined } as Answer;
};

const rateHeaders = (answer: Answer) => ({
  limit: answer.headers.get('x-ratelimit-limit'),
  remaining: answer.headers.get('x-ratelimit-remaining'),
  reset: answer.headers.get('x-ratelimit-reset'),
});

async function createKey(base: string, tier?: string): Promise<string> {
  const created = await call(base, 'POST', '/api/api-keys', ADMIN_HEADERS, {
    name: `rl-${tier ?? 'default'}`,
    scopes: ['mcp:read'],
    ...(tier ? { tier } : {}),
  });
  expect(created.status).toBe(201);
  return created.body.key as string;
}

describe('rate limiting', () => {
  describe('shared through Redis by two gateways', () => {
    let db: TestDatabase;
    let one: TestGateway;
    let two: TestGateway;

    beforeAll(async () => {
      db = await createTestDatabase('security_rate_limit');
      // Default bucket of 50 so the admin key used to create keys is limited too, but not by these tests.
      const yaml = 'mcp:\n  security:\n    rate-limiting:\n      requests-per-minute: 50\n      burst-capacity: 50\n';
      one = await startTestGateway({ databaseUrl: db.url, rateLimiting: true, yaml });
      two = await startTestGateway({ databaseUrl: db.url, rateLimiting: true, yaml });
    }, 60_000);

    afterAll(async () => {
      await one?.stop();
      await two?.stop();
      await db?.drop();
    });

    it('enforces one bucket per principal across both processes, then 429 with Retry-After', async () => {
      const key = await createKey(one.addresses.api, 'free'); // free: burst 20, 100 a minute
      const answers: Answer[] = [];
      for (let i = 0; i < 24; i++) {
        const gateway = i % 2 === 0 ? one : two;
        answers.push(await call(gateway.addresses.api, 'GET', '/api/servers', { 'x-api-key': key }));
      }
      expect(answers.map((a) => a.status)).toEqual([...Array(20).fill(200), ...Array(4).fill(429)]);
      expect(answers.map((a) => Number(a.headers.get('x-ratelimit-remaining')))).toEqual([
        ...Array.from({ length: 20 }, (_, i) => 19 - i),
        0,
        0,
        0,
        0,
      ]);
      const refused = answers[23]!;
      expect(refused.body.error).toMatchObject({ code: 'RATE_LIMIT_EXCEEDED', details: { tier: 'free', limit: 20 } });
      const retryAfter = Number(refused.headers.get('retry-after'));
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(12); // the free bucket refills 20 requests in 12 s
      const metrics = await (await fetch(`${one.addresses.management}/actuator/prometheus`)).text();
      expect(metrics).toMatch(/^rate_limit_rejections_total\{tier="free"\} [1-9]/m);
      const { limit, reset } = rateHeaders(refused);
      expect(limit).toBe('20');
      const now = Date.now() / 1000;
      expect(Number(reset)).toBeGreaterThan(now);
      expect(Number(reset)).toBeLessThanOrEqual(Math.ceil(now) + 12);
    });

    it('gives each tier its own limits, and keys without a tier the default ones', async () => {
      const pro = await call(one.addresses.api, 'GET', '/api/servers', {
        'x-api-key': await createKey(one.addresses.api, 'pro'),
      });
      expect(rateHeaders(pro).limit).toBe('100');
      const enterprise = await call(one.addresses.api, 'GET', '/api/servers', {
        'x-api-key': await createKey(one.addresses.api, 'enterprise'),
      });
      expect(rateHeaders(enterprise).limit).toBe('500');
      const plain = await call(one.addresses.api, 'GET', '/api/servers', {
        'x-api-key': await createKey(one.addresses.api),
      });
      expect(rateHeaders(plain).limit).toBe('50');
    });

    it('counts per principal: another key has its own bucket', async () => {
      const a = await createKey(one.addresses.api, 'free');
      const b = await createKey(one.addresses.api, 'free');
      for (let i = 0; i < 20; i++) await call(one.addresses.api, 'GET', '/api/servers', { 'x-api-key': a });
      expect((await call(two.addresses.api, 'GET', '/api/servers', { 'x-api-key': a })).status).toBe(429);
      expect((await call(two.addresses.api, 'GET', '/api/servers', { 'x-api-key': b })).status).toBe(200);
    });

    it('counts refused requests too (403 after the bucket is used up becomes 429)', async () => {
      const key = await createKey(one.addresses.api, 'free');
      const statuses: number[] = [];
      for (let i = 0; i < 21; i++) {
        statuses.push((await call(one.addresses.api, 'GET', '/api/api-keys', { 'x-api-key': key })).status);
      }
      expect(statuses).toEqual([...Array(20).fill(403), 429]);
    });

    it('counts failed authentication per client address: made-up keys get 429 after the default burst', async () => {
      const statuses: number[] = [];
      let last: Answer | undefined;
      for (let i = 0; i < 51; i++) {
        last = await call(two.addresses.api, 'GET', '/api/servers', { 'x-api-key': `gmcp_made-up-${i}` });
        statuses.push(last.status);
        if (i === 0) expect(rateHeaders(last).limit).toBe('50');
      }
      expect(statuses).toEqual([...Array(50).fill(401), 429]);
      expect(last!.headers.get('retry-after')).toMatch(/^\d+$/);
      // A valid credential has its own bucket.
      expect((await call(two.addresses.api, 'GET', '/api/servers', ADMIN_HEADERS)).status).toBe(200);
    });

    it('does not limit health, docs or the management port', async () => {
      for (let i = 0; i < 60; i++) {
        const health = await call(one.addresses.api, 'GET', '/api/health', {});
        expect(health.status).not.toBe(429);
        expect(health.headers.get('x-ratelimit-limit')).toBeNull();
      }
      const readiness = await fetch(`${one.addresses.management}/actuator/health/readiness`);
      expect(readiness.status).toBe(200);
      expect(readiness.headers.get('x-ratelimit-limit')).toBeNull();
    });
  });

  it('keeps answering with Redis down: buckets fall back to memory, never a 500', async () => {
    const db = await createTestDatabase('security_rate_limit_no_redis');
    const gateway = await startTestGateway({
      databaseUrl: db.url,
      rateLimiting: true,
      env: { REDIS_URL: 'redis://127.0.0.1:1' },
    });
    try {
      const key = await createKey(gateway.addresses.api, 'free');
      const statuses: number[] = [];
      for (let i = 0; i < 22; i++) {
        const answer = await call(gateway.addresses.api, 'GET', '/api/servers', { 'x-api-key': key });
        statuses.push(answer.status);
        expect(answer.headers.get('x-ratelimit-limit')).toBe('20');
      }
      expect(statuses).toEqual([...Array(20).fill(200), 429, 429]);
    } finally {
      await gateway.stop();
      await db.drop();
    }
  }, 60_000);

  it('honours enabled: false (no limit, no headers)', async () => {
    const db = await createTestDatabase('security_rate_limit_off');
    const gateway = await startTestGateway({ databaseUrl: db.url });
    try {
      const key = await createKey(gateway.addresses.api, 'free');
      for (let i = 0; i < 25; i++) {
        const answer = await call(gateway.addresses.api, 'GET', '/api/servers', { 'x-api-key': key });
        expect(answer.status).toBe(200);
        expect(answer.headers.get('x-ratelimit-limit')).toBeNull();
      }
    } finally {
      await gateway.stop();
      await db.drop();
    }
  }, 60_000);
});
