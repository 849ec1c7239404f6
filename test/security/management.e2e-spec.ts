import { ADMIN_HEADERS } from '../support/auth';
import { createTestDatabase, type TestDatabase } from '../support/test-database';
import { startTestGateway, type TestGateway } from '../support/test-gateway';
import { signHs256 } from './test-issuer';

const SECRET = 'an-hs256-secret-of-more-than-32-bytes-for-management';

interface Answer {
  status: number;
  headers: Headers;
  body: any;
}

describe('management port authorization', () => {
  let db: TestDatabase;
  let gateway: TestGateway;
  let readKey: string;

  const mgmt = async (base: string, p: string, headers: Record<string, string> = {}): Promise<Answer> => {
    const res = await fetch(`${base}${p}`, { headers });
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
  };
  const bearer = async (scope: string) => ({ authorization: `Bearer ${await signHs256(SECRET, { scope })}` });
  const expectEnvelope = (answer: Answer, status: number, code: string) => {
    expect({ status: answer.status, code: answer.body?.error?.code }).toEqual({ status, code });
    expect(answer.body.error.request_id).toBe(answer.headers.get('x-request-id'));
  };

  beforeAll(async () => {
    db = await createTestDatabase('security_mgmt');
    gateway = await startTestGateway({
      databaseUrl: db.url,
      yaml: `mcp:\n  security:\n    jwt:\n      secret: ${SECRET}\n`,
    });
    const created = await fetch(`${gateway.addresses.api}/api/api-keys`, {
      method: 'POST',
      headers: { ...ADMIN_HEADERS, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'mgmt-reader', scopes: ['mcp:read'] }),
    });
    expect(created.status).toBe(201);
    readKey = ((await created.json()) as { key: string }).key;
  }, 60_000);

  afterAll(async () => {
    await gateway?.stop();
    await db?.drop();
  });

  describe('show-details: when-authorized (the default)', () => {
    const base = () => gateway.addresses.management;

    it('shows components and details to an mcp:admin API key or bearer token', async () => {
      for (const headers of [ADMIN_HEADERS, await bearer('mcp:admin')]) {
        const health = await mgmt(base(), '/actuator/health', headers);
        expect(health.status).toBe(200);
        expect(health.body.components).toHaveProperty('db');
        expect(health.body.components.db.details).toMatchObject({ database: 'PostgreSQL' });
        const db = await mgmt(base(), '/actuator/health/db', headers);
        expect(db.body.details).toMatchObject({ database: 'PostgreSQL' });
      }
    });

    it('shows only the status to anonymous, non-admin and refused credentials (never 401 on health)', async () => {
      const callers: Record<string, string>[] = [
        {},
        { 'X-API-Key': readKey },
        await bearer('mcp:read mcp:write'),
        { 'X-API-Key': 'gmcp_made-up-key-0000000000000000000000000000000000' },
        { authorization: 'Bearer not.a.jwt' },
        {
          authorization: `Bearer ${await signHs256('another-secret-of-more-than-32-bytes-long', { scope: 'mcp:admin' })}`,
        },
      ];
      for (const headers of callers) {
        for (const p of ['/actuator/health', '/actuator/health/readiness', '/actuator/health/db']) {
          const answer = await mgmt(base(), p, headers);
          expect(answer.status).toBe(200);
          expect(answer.body).toEqual({ status: 'UP' });
        }
      }
    });

    it('keeps liveness, readiness, startup and prometheus open', async () => {
      for (const p of ['liveness', 'readiness', 'startup']) {
        expect((await mgmt(base(), `/actuator/health/${p}`)).status).toBe(200);
      }
      const scrape = await fetch(`${base()}/actuator/prometheus`);
      expect(scrape.status).toBe(200);
      expect(await scrape.text()).toMatch(/^process_cpu_user_seconds_total /m);
    });

    it('shows /actuator/info in full to admins only; anonymous and non-admins get the name and version', async () => {
      const callers: Record<string, string>[] = [{}, { 'X-API-Key': readKey }, { 'X-API-Key': 'gmcp_wrong' }];
      for (const headers of callers) {
        const info = await mgmt(base(), '/actuator/info', headers);
        expect(info.status).toBe(200);
        expect(info.body).toEqual({ app: { name: 'globalmcp', version: expect.stringMatching(/^\d+\.\d+\.\d+/) } });
      }
      const full = await mgmt(base(), '/actuator/info', ADMIN_HEADERS);
      expect(full.body.build.version).toMatch(/^\d+\.\d+\.\d+/);
      expect(full.body.runtime.pid).toBe(process.pid);
    });

    it('serves /actuator/metrics to admins only: 401 without or with a refused credential, 403 without mcp:admin', async () => {
      for (const p of ['/actuator/metrics', '/actuator/metrics/process.resident.memory.bytes']) {
        const anonymous = await mgmt(base(), p);
        expectEnvelope(anonymous, 401, 'AUTHENTICATION_FAILED');
        expect(anonymous.headers.get('www-authenticate')).toMatch(/^Bearer realm="globalmcp"/);
        expectEnvelope(await mgmt(base(), p, { 'X-API-Key': 'gmcp_wrong' }), 401, 'AUTHENTICATION_FAILED');
        expectEnvelope(await mgmt(base(), p, { 'X-API-Key': readKey }), 403, 'AUTHORIZATION_DENIED');
        expectEnvelope(await mgmt(base(), p, await bearer('mcp:write')), 403, 'AUTHORIZATION_DENIED');
        expect((await mgmt(base(), p, ADMIN_HEADERS)).status).toBe(200);
        expect((await mgmt(base(), p, await bearer('mcp:admin'))).status).toBe(200);
      }
    });
  });

  describe('show-details: always / never', () => {
    it('follows the setting whoever asks', async () => {
      for (const [setting, shown] of [
        ['always', true],
        ['never', false],
      ] as const) {
        const other = await startTestGateway({
          databaseUrl: db.url,
          yaml: `management:\n  endpoint:\n    health:\n      show-details: ${setting}\n`,
        });
        try {
          for (const headers of [{}, ADMIN_HEADERS]) {
            const health = await mgmt(other.addresses.management, '/actuator/health', headers);
            if (shown) expect(health.body.components.db.details).toMatchObject({ database: 'PostgreSQL' });
            else expect(health.body).toEqual({ status: 'UP' });
          }
        } finally {
          await other.stop();
        }
      }
    });
  });
});
