import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createConnection } from 'node:net';
import { startChildGateway, type ChildGateway } from '../ops/live-support';
import { ADMIN_HEADERS, TEST_ADMIN_KEY } from '../support/auth';
import { freePort } from '../support/ports';
import { createTestDatabase, type TestDatabase } from '../support/test-database';
import { startTestGateway, type TestGateway } from '../support/test-gateway';
import { waitFor } from '../support/wait';
import { signHs256 } from './test-issuer';

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

const JWT_SECRET = 'rate-limit-e2e-hs256-secret-of-32-bytes-or-more';

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

/**
 * Tiers of these tests. `trickle` refills one request a minute, so that a test counting its way through a burst
 * is not disturbed by a refill however slow the machine; `second` refills one request every 3 s, to watch the
 * refill. The key prefix is new on each run: buckets in the shared Redis outlive a run.
 */
const limitsYaml = (prefix: string, defaults: { rpm: number; burst: number }) =>
  `spring:\n  cache:\n    redis:\n      key-prefix: "${prefix}"\n` +
  `mcp:\n  security:\n    jwt:\n      secret: "${JWT_SECRET}"\n` +
  `    rate-limiting:\n      requests-per-minute: ${defaults.rpm}\n      burst-capacity: ${defaults.burst}\n` +
  '      tiers:\n' +
  '        free: { requests-per-minute: 100, burst-capacity: 20 }\n' +
  '        pro: { requests-per-minute: 500, burst-capacity: 100 }\n' +
  '        enterprise: { requests-per-minute: 2000, burst-capacity: 500 }\n' +
  '        trickle: { requests-per-minute: 1, burst-capacity: 20 }\n' +
  '        second: { requests-per-minute: 20, burst-capacity: 3 }\n';

describe('rate limiting', () => {
  describe('shared through Redis by two gateway processes', () => {
    let db: TestDatabase;
    let one: TestGateway;
    let child: ChildGateway;
    let apiOne: string;
    let apiTwo: string;

    beforeAll(async () => {
      db = await createTestDatabase('security_rate_limit');
      // Default bucket of 50 refilled one a minute: the admin key that creates keys is limited too, but not by
      // these tests (fewer than 50 calls), and the made-up-key flood below is not refilled while it runs.
      const yaml = limitsYaml(`rl-e2e-${randomUUID()}:`, { rpm: 1, burst: 50 });
      one = await startTestGateway({ databaseUrl: db.url, rateLimiting: true, yaml });
      // The second replica is a separate `node dist/src/main.js` process: nothing but Redis is shared.
      child = await startChildGateway({
        databaseUrl: db.url,
        extraYaml: yaml,
        extraFileName: 'limits.yml',
        env: { REDIS_URL: process.env.TEST_REDIS_URL!, GLOBALMCP_ADMIN_API_KEY: TEST_ADMIN_KEY },
      });
      apiOne = one.addresses.api;
      apiTwo = child.api;
    }, 120_000);

    afterAll(async () => {
      await child?.stop();
      await one?.stop();
      await db?.drop();
    });

    it('enforces one bucket per principal across both processes, then 429 with Retry-After', async () => {
      const key = await createKey(apiOne, 'trickle'); // burst 20, one request a minute
      const answers: Answer[] = [];
      for (let i = 0; i < 24; i++) {
        answers.push(await call(i % 2 === 0 ? apiOne : apiTwo, 'GET', '/api/servers', { 'x-api-key': key }));
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
      expect(refused.body.error).toMatchObject({
        code: 'RATE_LIMIT_EXCEEDED',
        details: { tier: 'trickle', limit: 20, requests_per_minute: 1 },
      });
      expect(refused.body.error.request_id).toEqual(expect.any(String));
      expect(JSON.stringify(refused.body)).not.toMatch(/\bat .*\.(js|ts):\d+/);
      const retryAfter = Number(refused.headers.get('retry-after'));
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(60); // one request a minute
      const metrics = await (await fetch(`${one.addresses.management}/actuator/prometheus`)).text();
      const metricsTwo = await (await fetch(`${child.management}/actuator/prometheus`)).text();
      expect(metrics).toMatch(/^rate_limit_rejections_total\{tier="trickle"\} [1-9]/m);
      expect(metricsTwo).toMatch(/^rate_limit_rejections_total\{tier="trickle"\} [1-9]/m);
      const { limit, reset } = rateHeaders(refused);
      expect(limit).toBe('20');
      const now = Date.now() / 1000;
      // Full again after 20 minutes of refill (continuous, one a minute).
      expect(Number(reset)).toBeGreaterThan(now + 19 * 60);
      expect(Number(reset)).toBeLessThanOrEqual(Math.ceil(now) + 20 * 60 + 1);
    });

    it('is atomic: 60 concurrent requests on both processes let exactly the burst of 20 through', async () => {
      const key = await createKey(apiOne, 'trickle');
      const answers = await Promise.all(
        Array.from({ length: 60 }, (_, i) =>
          call(i % 2 === 0 ? apiOne : apiTwo, 'GET', '/api/servers', { 'x-api-key': key }),
        ),
      );
      expect(answers.filter((a) => a.status === 200)).toHaveLength(20);
      expect(answers.filter((a) => a.status === 429)).toHaveLength(40);
      // Each passing request saw a different number left: no two read the same bucket state.
      const remaining = answers.filter((a) => a.status === 200).map((a) => Number(rateHeaders(a).remaining));
      expect(remaining.sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    });

    it('refills continuously: after a burst, one request passes each refill interval, not a new burst', async () => {
      const key = await createKey(apiOne, 'second'); // burst 3, 20 a minute: one request every 3 s
      const first = [];
      for (let i = 0; i < 4; i++) first.push(await call(apiOne, 'GET', '/api/servers', { 'x-api-key': key }));
      expect(first.map((a) => a.status)).toEqual([200, 200, 200, 429]);
      expect(Number(first[3]!.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(Number(first[3]!.headers.get('retry-after'))).toBeLessThanOrEqual(3);

      // Poll the other replica until the refill lets one request through (refused polls take nothing).
      let passed: Answer | undefined;
      await waitFor(
        async () => {
          const answer = await call(apiTwo, 'GET', '/api/servers', { 'x-api-key': key });
          if (answer.status === 200) passed = answer;
          else expect(answer.status).toBe(429);
          return answer.status === 200;
        },
        15_000,
        'the bucket to refill one request',
        100,
      );
      // One token came back, not the burst of 3: nothing remains, and the next request is refused again.
      expect(rateHeaders(passed!).remaining).toBe('0');
      const after = await call(apiOne, 'GET', '/api/servers', { 'x-api-key': key });
      expect(after.status).toBe(429);
      expect(rateHeaders(after).remaining).toBe('0');
    }, 30_000);

    it('gives each tier its own limits, and keys without a tier the default ones', async () => {
      const pro = await call(apiOne, 'GET', '/api/servers', { 'x-api-key': await createKey(apiOne, 'pro') });
      expect(rateHeaders(pro)).toMatchObject({ limit: '100', remaining: '99' });
      const enterprise = await call(apiTwo, 'GET', '/api/servers', {
        'x-api-key': await createKey(apiOne, 'enterprise'),
      });
      expect(rateHeaders(enterprise)).toMatchObject({ limit: '500', remaining: '499' });
      const plain = await call(apiOne, 'GET', '/api/servers', { 'x-api-key': await createKey(apiOne) });
      expect(rateHeaders(plain)).toMatchObject({ limit: '50', remaining: '49' });
      // A token names its tier in the mcp_tier claim.
      const token = await signHs256(JWT_SECRET, { scope: 'mcp:read', mcp_tier: 'pro' }, { subject: 'tiered-client' });
      const tiered = await call(apiTwo, 'GET', '/api/servers', { authorization: `Bearer ${token}` });
      expect(tiered.status).toBe(200);
      expect(rateHeaders(tiered)).toMatchObject({ limit: '100', remaining: '99' });
    });

    it('sets the X-RateLimit-* headers on error answers of limited routes too (400, 403, 404)', async () => {
      const key = await createKey(apiOne); // default bucket: 50
      const headers = { 'x-api-key': key };
      const answers = [
        await call(apiOne, 'GET', '/api/servers?limit=not-a-number', headers),
        await call(apiTwo, 'POST', '/api/api-keys', headers, { name: 'x', scopes: ['mcp:read'] }),
        await call(apiOne, 'GET', '/api/servers/no-such-server', headers),
      ];
      expect(answers.map((a) => a.status)).toEqual([400, 403, 404]);
      expect(answers.map((a) => rateHeaders(a))).toEqual([
        { limit: '50', remaining: '49', reset: expect.stringMatching(/^\d+$/) },
        { limit: '50', remaining: '48', reset: expect.stringMatching(/^\d+$/) },
        { limit: '50', remaining: '47', reset: expect.stringMatching(/^\d+$/) },
      ]);
    });

    it('counts per principal: another key has its own bucket', async () => {
      const a = await createKey(apiOne, 'trickle');
      const b = await createKey(apiOne, 'trickle');
      for (let i = 0; i < 20; i++) await call(apiOne, 'GET', '/api/servers', { 'x-api-key': a });
      expect((await call(apiTwo, 'GET', '/api/servers', { 'x-api-key': a })).status).toBe(429);
      expect((await call(apiTwo, 'GET', '/api/servers', { 'x-api-key': b })).status).toBe(200);
    });

    it('counts refused requests too (403 after the bucket is used up becomes 429)', async () => {
      const key = await createKey(apiOne, 'trickle');
      const statuses: number[] = [];
      for (let i = 0; i < 21; i++) {
        statuses.push((await call(i % 2 ? apiTwo : apiOne, 'GET', '/api/api-keys', { 'x-api-key': key })).status);
      }
      expect(statuses).toEqual([...Array(20).fill(403), 429]);
    });

    it('counts failed authentication per client address: made-up keys get 429 after the default burst', async () => {
      const statuses: number[] = [];
      let last: Answer | undefined;
      for (let i = 0; i < 51; i++) {
        last = await call(i % 2 ? apiTwo : apiOne, 'GET', '/api/servers', { 'x-api-key': `gmcp_made-up-${i}` });
        statuses.push(last.status);
        if (i === 0) expect(rateHeaders(last).limit).toBe('50');
      }
      expect(statuses).toEqual([...Array(50).fill(401), 429]);
      expect(last!.headers.get('retry-after')).toMatch(/^\d+$/);
      // The OpenAPI document checks a credential too: the same address bucket, now empty.
      const docs = await call(apiOne, 'GET', '/v3/api-docs', { 'x-api-key': 'gmcp_made-up-docs' });
      expect(docs.status).toBe(429);
      expect(docs.body.error.code).toBe('RATE_LIMIT_EXCEEDED');
      // A valid credential has its own bucket.
      expect((await call(apiTwo, 'GET', '/api/servers', ADMIN_HEADERS)).status).toBe(200);
    });

    it('does not limit health, docs or the management port', async () => {
      for (let i = 0; i < 60; i++) {
        const health = await call(apiOne, 'GET', '/api/health', {});
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
      yaml: limitsYaml(`rl-e2e-${randomUUID()}:`, { rpm: 1000, burst: 2000 }),
      env: { REDIS_URL: 'redis://127.0.0.1:1' },
    });
    try {
      const key = await createKey(gateway.addresses.api, 'trickle');
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

  it('survives a Redis outage mid-run: memory buckets while it is down, shared buckets again once it is back', async () => {
    const port = await freePort();
    const startRedis = async () => {
      const server = spawn(
        'redis-server',
        ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
        {
          stdio: 'ignore',
        },
      );
      await waitFor(
        async () => {
          const probe = createConnection(port, '127.0.0.1');
          return new Promise<boolean>((resolve) => {
            probe.once('connect', () => resolve(probe.destroy() !== undefined));
            probe.once('error', () => resolve(false));
          });
        },
        10_000,
        'redis-server to listen',
        50,
      );
      return server;
    };
    const stopRedis = async (server: ChildProcess) => {
      if (server.exitCode !== null || server.signalCode !== null) return;
      const exited = new Promise((resolve) => server.once('exit', resolve));
      server.kill('SIGKILL');
      await exited;
    };
    let redis = await startRedis();
    const db = await createTestDatabase('security_rate_limit_outage');
    const gateway = await startTestGateway({
      databaseUrl: db.url,
      rateLimiting: true,
      yaml: limitsYaml(`rl-e2e-${randomUUID()}:`, { rpm: 1000, burst: 2000 }),
      env: { REDIS_URL: `redis://127.0.0.1:${port}` },
    });
    const api = gateway.addresses.api;
    try {
      const key = await createKey(api, 'trickle');
      const get = () => call(api, 'GET', '/api/servers', { 'x-api-key': key });
      const before = [];
      for (let i = 0; i < 5; i++) before.push(rateHeaders(await get()).remaining);
      expect(before).toEqual(['19', '18', '17', '16', '15']);

      await stopRedis(redis);
      // Redis is gone: every answer is 200 or 429 from this process' buckets (which start full), never a 500.
      const during: Answer[] = [];
      for (let i = 0; i < 21; i++) during.push(await get());
      expect(during.map((a) => a.status)).toEqual([...Array(20).fill(200), 429]);
      expect(during.every((a) => a.headers.get('x-ratelimit-limit') === '20')).toBe(true);

      // Back (empty, nothing persisted): once reconnected, the shared bucket answers again.
      redis = await startRedis();
      let back: Answer | undefined;
      await waitFor(
        async () => {
          back = await get();
          expect([200, 429]).toContain(back.status);
          return back.status === 200;
        },
        20_000,
        'the gateway to use Redis again',
        200,
      );
      expect(rateHeaders(back!).remaining).toBe('19');
    } finally {
      await gateway.stop();
      await db.drop();
      await stopRedis(redis);
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
