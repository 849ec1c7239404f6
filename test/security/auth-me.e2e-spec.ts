import { signHs256 } from './test-issuer';
import { createTestDatabase, type TestDatabase } from '../support/test-database';
import { startTestGateway, type TestGateway } from '../support/test-gateway';

const JWT_SECRET = 'an-auth-me-test-hs256-secret-longer-than-32-bytes';

describe('GET /api/auth/me: the caller as the gateway sees it', () => {
  let db: TestDatabase;
  let gateway: TestGateway;

  beforeAll(async () => {
    db = await createTestDatabase('auth_me');
    gateway = await startTestGateway({
      databaseUrl: db.url,
      yaml: `mcp:\n  security:\n    jwt:\n      secret: ${JWT_SECRET}\n`,
    });
  }, 60_000);

  afterAll(async () => {
    await gateway?.stop();
    await db?.drop();
  });

  const me = (headers: Record<string, string>) => fetch(`${gateway.addresses.api}/api/auth/me`, { headers });

  it('answers 401 without a credential', async () => {
    const res = await me({});
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('AUTHENTICATION_FAILED');
  });

  it('tells a read-only key its scopes and server allow-list, and never the key', async () => {
    const created = await fetch(`${gateway.addresses.api}/api/api-keys`, {
      method: 'POST',
      headers: { ...gateway.authHeaders, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'viewer', scopes: ['mcp:read'], server_ids: ['zeta', 'alpha'] }),
    });
    expect(created.status).toBe(201);
    const { key } = (await created.json()) as { key: string };
    const res = await me({ 'X-API-Key': key });
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(JSON.parse(text)).toEqual({
      kind: 'api-key',
      subject: 'viewer',
      scopes: ['mcp:read'],
      servers: ['alpha', 'zeta'],
      tier: null,
    });
    expect(text).not.toContain(key);
  });

  it('tells the admin key it holds mcp:admin on every server', async () => {
    const body = (await (await me(gateway.authHeaders)).json()) as { kind: string; scopes: string[]; servers: unknown };
    expect(body.kind).toBe('api-key');
    expect(body.scopes).toContain('mcp:admin');
    expect(body.servers).toBeNull();
  });

  it('tells a JWT caller its subject and the scopes of its token', async () => {
    const token = await signHs256(JWT_SECRET, { scope: 'mcp:read mcp:write' }, { subject: 'alice' });
    const res = await me({ Authorization: `Bearer ${token}` });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      kind: 'jwt',
      subject: 'alice',
      scopes: ['mcp:read', 'mcp:write'],
      servers: null,
      tier: null,
    });
  });
});
