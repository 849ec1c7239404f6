import { createHash } from 'node:crypto';
import path from 'node:path';
import { UnsecuredJWT } from 'jose';
import { DataSource } from 'typeorm';
import { ADMIN_HEADERS } from '../support/auth';
import { createTestDatabase, type TestDatabase } from '../support/test-database';
import { startTestGateway, type TestGateway } from '../support/test-gateway';
import { signHs256, TestIssuer } from './test-issuer';

const ROOT = path.resolve(__dirname, '..', '..');
const TOOLBOX = path.join(ROOT, 'test/fixtures/servers/cancel-recorder-server.js');
const SECRET = 'an-hs256-secret-of-more-than-32-bytes-for-tests';
const AUDIENCE = 'globalmcp-api';

interface Envelope {
  error: { code: string; message: string; details: unknown; request_id: string; timestamp: string };
}
interface Answer {
  status: number;
  headers: Headers;
  body: any;
}

describe('authentication and authorization', () => {
  let db: TestDatabase;
  let issuer: TestIssuer;
  let gateway: TestGateway;
  let api: string;

  const call = async (
    method: string,
    p: string,
    headers: Record<string, string> = {},
    body?: unknown,
  ): Promise<Answer> => {
    const res = await fetch(`${api}${p}`, {
      method,
      headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
      body: body !== undefined ? JSON.stringify(body) : undefined,
    });
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
  };
  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
  const oauth = (claims: Record<string, unknown>, options = {}) =>
    issuer.sign(claims, { audience: AUDIENCE, ...options });
  const expectError = (answer: Answer, status: number, code: string) => {
    expect({ status: answer.status, code: (answer.body as Envelope)?.error?.code }).toEqual({ status, code });
    expect((answer.body as Envelope).error.request_id).toBe(answer.headers.get('x-request-id'));
  };
  const expect401 = (answer: Answer, reason?: RegExp) => {
    expectError(answer, 401, 'AUTHENTICATION_FAILED');
    expect(answer.headers.get('www-authenticate')).toMatch(/^Bearer realm="globalmcp"/);
    if (reason) expect(JSON.stringify(answer.body.error.details)).toMatch(reason);
  };

  beforeAll(async () => {
    issuer = await TestIssuer.start();
    await issuer.addKey('rsa-1', 'RS256');
    await issuer.addKey('ec-1', 'ES256');
    db = await createTestDatabase('security_auth');
    gateway = await startTestGateway({
      databaseUrl: db.url,
      yaml: `mcp:
  security:
    jwt:
      secret: ${SECRET}
  servers:
    alpha:
      type: stdio
      command: node
      args: ["${TOOLBOX}"]
    beta:
      type: stdio
      command: node
      args: ["${TOOLBOX}"]
spring:
  security:
    oauth2:
      resourceserver:
        jwt:
          issuer-uri: ${issuer.issuer}
          audiences: [${AUDIENCE}]
`,
    });
    api = gateway.addresses.api;
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      const { body } = await call('GET', '/api/tools', ADMIN_HEADERS);
      if ((body as { servers_count: number }).servers_count === 2) break;
      await new Promise((r) => setTimeout(r, 100));
    }
  }, 60_000);

  afterAll(async () => {
    await gateway?.stop();
    await db?.drop();
    await issuer?.close();
  });

  describe('credentials', () => {
    it('answers 401 with a Bearer challenge and the envelope when no credential is sent', async () => {
      const answer = await call('GET', '/api/servers');
      expect401(answer);
      expect(answer.body.error.message).toMatch(/Authorization: Bearer .* or X-API-Key/);
    });

    it('keeps /api/health, the OpenAPI document and Swagger UI open, and the management probes too', async () => {
      expect([200, 503]).toContain((await call('GET', '/api/health')).status);
      expect((await call('GET', '/v3/api-docs')).status).toBe(200);
      expect((await fetch(`${api}/docs`)).status).toBe(200);
      for (const probe of ['liveness', 'readiness', 'startup']) {
        expect((await fetch(`${gateway.addresses.management}/actuator/health/${probe}`)).status).toBe(200);
      }
    });

    it('accepts an HS256 token signed with the shared secret', async () => {
      const token = await signHs256(SECRET, { scope: 'mcp:read' });
      expect((await call('GET', '/api/servers', bearer(token))).status).toBe(200);
    });

    it('accepts RS256 and ES256 tokens of the OAuth2 issuer, with the JWKS discovered from its metadata', async () => {
      for (const kid of ['rsa-1', 'ec-1']) {
        const answer = await call('GET', '/api/servers', bearer(await oauth({ scope: 'mcp:read' }, { kid })));
        expect(answer.status).toBe(200);
      }
    });

    it('fetches the JWKS again when a token names a key it has not seen (rotation)', async () => {
      const before = issuer.jwksFetches;
      await issuer.addKey('rsa-2', 'RS256');
      const answer = await call('GET', '/api/servers', bearer(await oauth({ scope: 'mcp:read' }, { kid: 'rsa-2' })));
      expect(answer.status).toBe(200);
      expect(issuer.jwksFetches).toBe(before + 1);
      // Known keys come from the cache.
      await call('GET', '/api/servers', bearer(await oauth({ scope: 'mcp:read' }, { kid: 'rsa-2' })));
      expect(issuer.jwksFetches).toBe(before + 1);
    });

    it.each([
      ['expired', { expiresIn: -3600 }, /expired/],
      ['not yet valid', { notBefore: 3600 }, /not active/],
      ['issued in the future', { issuedAt: 3600, expiresIn: 7200 }, /future/],
      ['from another issuer', { issuer: 'https://evil.example/realm' }, /issuer invalid/],
      ['for another audience', { audience: 'someone-else' }, /audience invalid/],
    ])('refuses an OAuth2 token %s with 401', async (_what, options, reason) => {
      const token = await oauth({ scope: 'mcp:admin' }, options);
      expect401(await call('GET', '/api/servers', bearer(token)), reason);
    });

    it('refuses expired and not-yet-valid HS256 tokens, and tokens signed with another secret', async () => {
      expect401(
        await call('GET', '/api/servers', bearer(await signHs256(SECRET, { scope: 'mcp:read' }, { expiresIn: -3600 }))),
        /expired/,
      );
      expect401(
        await call('GET', '/api/servers', bearer(await signHs256(SECRET, { scope: 'mcp:read' }, { notBefore: 3600 }))),
        /not active/,
      );
      const other = await signHs256('another-secret-that-is-long-enough-to-be-valid!', { scope: 'mcp:read' });
      expect401(await call('GET', '/api/servers', bearer(other)), /invalid signature/);
    });

    it('refuses a token whose signature was not made by a published key', async () => {
      const forged = await issuer.sign(
        { scope: 'mcp:admin' },
        { kid: 'rsa-1', audience: AUDIENCE },
        await issuer.foreignKey('RS256'),
      );
      expect401(await call('GET', '/api/servers', bearer(forged)), /invalid signature/);
      const unknownKid = await issuer.sign({ scope: 'mcp:admin' }, { kid: 'rsa-1', audience: AUDIENCE });
      expect401(await call('GET', '/api/servers', bearer(unknownKid.replace(/\.[^.]+$/, '.AAAA'))));
    });

    it('refuses alg none', async () => {
      const none = new UnsecuredJWT({ scope: 'mcp:admin', sub: 'x', iss: issuer.issuer, aud: AUDIENCE })
        .setIssuedAt()
        .setExpirationTime('5m')
        .encode();
      expect401(await call('GET', '/api/servers', bearer(none)));
    });

    it('refuses an HS256 token signed with the issuer public key (algorithm confusion)', async () => {
      const pem = await issuer.publicKeyPem('rsa-1');
      const confused = await signHs256(pem, { scope: 'mcp:admin' }, { audience: AUDIENCE }, issuer.issuer);
      expect401(await call('GET', '/api/servers', bearer(confused)), /invalid signature/);
    });

    it('refuses garbage bearer tokens and unknown API keys', async () => {
      expect401(await call('GET', '/api/servers', bearer('not-a-jwt')), /malformed/);
      expect401(await call('GET', '/api/servers', { 'x-api-key': 'gmcp_nope' }), /unknown API key/);
    });
  });

  describe('API keys', () => {
    it('creates a key shown once, stores only its SHA-256, lists keys without it, and revokes it', async () => {
      const created = await call('POST', '/api/api-keys', ADMIN_HEADERS, {
        name: 'reader',
        scopes: ['mcp:read'],
        tier: 'pro',
      });
      expect(created.status).toBe(201);
      const key = created.body.key as string;
      expect(key).toMatch(/^gmcp_[A-Za-z0-9_-]{43}$/);
      expect(created.body).toMatchObject({
        name: 'reader',
        scopes: ['mcp:read'],
        tier: 'pro',
        prefix: key.slice(0, 13),
      });

      const dataSource = gateway.api.get(DataSource);
      const rows: Array<{ key_hash: string }> = await dataSource.query(`SELECT * FROM api_keys WHERE id = $1`, [
        created.body.id,
      ]);
      expect(rows[0]!.key_hash).toBe(createHash('sha256').update(key).digest('hex'));
      expect(JSON.stringify(rows)).not.toContain(key);

      const listed = await call('GET', '/api/api-keys', ADMIN_HEADERS);
      expect(listed.status).toBe(200);
      expect(JSON.stringify(listed.body)).not.toContain(key);
      expect(JSON.stringify(listed.body)).not.toContain(rows[0]!.key_hash);
      expect(listed.body.api_keys.map((k: { id: string }) => k.id)).toContain(created.body.id);

      expect((await call('GET', '/api/servers', { 'x-api-key': key })).status).toBe(200);
      // last_used_at is written after the response, off the request path.
      let lastUsed: string | null = null;
      for (let i = 0; i < 50 && !lastUsed; i++) {
        await new Promise((r) => setTimeout(r, 20));
        const keys = (await call('GET', '/api/api-keys', ADMIN_HEADERS)).body.api_keys as Array<{
          id: string;
          last_used_at: string | null;
        }>;
        lastUsed = keys.find((k) => k.id === created.body.id)!.last_used_at;
      }
      expect(lastUsed).toEqual(expect.any(String));
      const revoked = await call('DELETE', `/api/api-keys/${created.body.id}`, ADMIN_HEADERS);
      expect(revoked.status).toBe(200);
      expect(revoked.body.revoked_at).toEqual(expect.any(String));
      expect401(await call('GET', '/api/servers', { 'x-api-key': key }), /revoked/);
      expectError(
        await call('DELETE', '/api/api-keys/00000000-0000-4000-8000-000000000000', ADMIN_HEADERS),
        404,
        'RESOURCE_NOT_FOUND',
      );
    });

    it('refuses an expired key', async () => {
      const created = await call('POST', '/api/api-keys', ADMIN_HEADERS, {
        name: 'short-lived',
        scopes: ['mcp:read'],
        expires_at: new Date(Date.now() + 60_000).toISOString(),
      });
      expect(created.status).toBe(201);
      await gateway.api
        .get(DataSource)
        .query(`UPDATE api_keys SET expires_at = now() - interval '1 second' WHERE id = $1`, [created.body.id]);
      expect401(await call('GET', '/api/servers', { 'x-api-key': created.body.key }), /expired/);
    });

    it('validates new keys: scopes, tier, expiry', async () => {
      for (const body of [
        { name: 'x', scopes: ['mcp:everything'] },
        { name: 'x', scopes: [] },
        { name: 'x', scopes: ['mcp:read'], tier: 'platinum' },
        { name: 'x', scopes: ['mcp:read'], expires_at: '2001-01-01T00:00:00Z' },
        { scopes: ['mcp:read'] },
      ]) {
        expectError(await call('POST', '/api/api-keys', ADMIN_HEADERS, body), 400, 'INVALID_PARAMETERS');
      }
    });
  });

  describe('scopes', () => {
    let readKey: string;
    beforeAll(async () => {
      readKey = (await call('POST', '/api/api-keys', ADMIN_HEADERS, { name: 'read-only', scopes: ['mcp:read'] })).body
        .key;
    });

    it('answers 403 when a key lacks the scope of the route', async () => {
      const execute = await call(
        'POST',
        '/api/tools/echo/execute',
        { 'x-api-key': readKey },
        { server_id: 'alpha', parameters: { message: 'hi' } },
      );
      expectError(execute, 403, 'AUTHORIZATION_DENIED');
      expect(execute.body.error.details).toEqual({ required_scopes: ['mcp:write'] });
      expectError(await call('GET', '/api/api-keys', { 'x-api-key': readKey }), 403, 'AUTHORIZATION_DENIED');
      expectError(
        await call('POST', '/api/servers/alpha/restart', { 'x-api-key': readKey }),
        403,
        'AUTHORIZATION_DENIED',
      );
    });

    it('reads scopes from a space-separated scope claim and from an scp array', async () => {
      const both = await oauth({ scope: 'mcp:read mcp:write' });
      const run = (token: string) =>
        call('POST', '/api/tools/echo/execute', bearer(token), { server_id: 'alpha', parameters: { message: 'hi' } });
      expect((await run(both)).status).toBe(200);
      expect((await run(await oauth({ scp: ['mcp:read', 'mcp:write'] }))).status).toBe(200);
      const readOnly = await oauth({ scp: ['mcp:read'] });
      expect((await call('GET', '/api/tools', bearer(readOnly))).status).toBe(200);
      expectError(await run(readOnly), 403, 'AUTHORIZATION_DENIED');
      expectError(await run(await signHs256(SECRET, {})), 403, 'AUTHORIZATION_DENIED');
    });

    it('lets mcp:admin do everything', async () => {
      const admin = await oauth({ scope: 'mcp:admin' });
      expect((await call('GET', '/api/tools', bearer(admin))).status).toBe(200);
      expect((await call('GET', '/api/api-keys', bearer(admin))).status).toBe(200);
      const run = await call('POST', '/api/tools/echo/execute', bearer(admin), {
        server_id: 'alpha',
        parameters: { message: 'hi' },
      });
      expect(run.status).toBe(200);
    });
  });

  describe('server allow-lists', () => {
    it("refuses another tenant's server with 403 on direct routes (token claim mcp_servers)", async () => {
      const token = await oauth({ scope: 'mcp:read mcp:write', mcp_servers: ['alpha'] });
      expect((await call('GET', '/api/servers/alpha', bearer(token))).status).toBe(200);
      for (const [method, p, body] of [
        ['GET', '/api/servers/beta', undefined],
        ['GET', '/api/servers/beta/tools', undefined],
        ['GET', '/api/tools?server_id=beta', undefined],
        ['GET', '/api/tools/echo?server_id=beta', undefined],
        ['POST', '/api/tools/echo/execute', { server_id: 'beta', parameters: { message: 'x' } }],
        ['POST', '/api/servers/beta/tools/echo', { message: 'x' }],
      ] as const) {
        expectError(await call(method, p, bearer(token), body), 403, 'AUTHORIZATION_DENIED');
      }
    });

    it("reads a server-path route's body as the tool's arguments: an argument named server_id is not a server", async () => {
      const token = await oauth({ scope: 'mcp:read mcp:write', mcp_servers: ['alpha'] });
      const run = await call('POST', '/api/servers/alpha/tools/echo', bearer(token), {
        message: 'deploy',
        server_id: 'beta',
      });
      expect(run.status).toBe(200);
      expect(run.body.server_id).toBe('alpha');
      expect(JSON.stringify(run.body.result.content)).toContain('deploy');
    });

    it('hides other servers from lists and resolves tool names among the allowed servers only', async () => {
      const token = await oauth({ scope: 'mcp:read mcp:write', mcp_servers: ['alpha'] });
      const servers = await call('GET', '/api/servers', bearer(token));
      expect(servers.body.servers.map((s: { id: string }) => s.id)).toEqual(['alpha']);
      expect(servers.body.pagination.total).toBe(1);
      const tools = await call('GET', '/api/tools', bearer(token));
      expect(new Set(tools.body.tools.map((t: { server_id: string }) => t.server_id))).toEqual(new Set(['alpha']));
      // echo exists on alpha and beta: ambiguous for an admin, not for a caller who only sees alpha.
      expectError(await call('GET', '/api/tools/echo', ADMIN_HEADERS), 409, 'CONFLICT');
      expect((await call('GET', '/api/tools/echo', bearer(token))).body.server_id).toBe('alpha');
      const run = await call('POST', '/api/tools/echo/execute', bearer(token), { parameters: { message: 'mine' } });
      expect(run.status).toBe(200);
      expect(run.body.server_id).toBe('alpha');
      const nothing = await oauth({ scope: 'mcp:read', mcp_servers: [] });
      expect((await call('GET', '/api/servers', bearer(nothing))).body.servers).toEqual([]);
      expectError(await call('GET', '/api/tools/echo', bearer(nothing)), 404, 'RESOURCE_NOT_FOUND');
    });

    it('hides other servers from resource and prompt lists and resolves URIs and prompt names among allowed ones', async () => {
      const token = await oauth({ scope: 'mcp:read', mcp_servers: ['beta'] });
      const only = (items: Array<{ server_id: string }>) => [...new Set(items.map((i) => i.server_id))];
      expect(only((await call('GET', '/api/resources', bearer(token))).body.resources)).toEqual(['beta']);
      expect(only((await call('GET', '/api/resources/templates', bearer(token))).body.resource_templates)).toEqual([
        'beta',
      ]);
      expect(only((await call('GET', '/api/prompts', bearer(token))).body.prompts)).toEqual(['beta']);
      const uri = encodeURIComponent('fixture://doc/1');
      expectError(await call('GET', `/api/resources/content?uri=${uri}`, ADMIN_HEADERS), 409, 'CONFLICT');
      const content = await call('GET', `/api/resources/content?uri=${uri}`, bearer(token));
      expect({ status: content.status, server_id: content.body.server_id }).toEqual({ status: 200, server_id: 'beta' });
      const prompt = await call('POST', '/api/prompts/greet/get', bearer(token), { arguments: { who: 'you' } });
      expect({ status: prompt.status, server_id: prompt.body.server_id }).toEqual({ status: 200, server_id: 'beta' });
      expectError(await call('GET', '/api/resources?server_id=alpha', bearer(token)), 403, 'AUTHORIZATION_DENIED');
      expectError(await call('GET', '/api/servers/alpha/prompts', bearer(token)), 403, 'AUTHORIZATION_DENIED');
    });

    it("refuses another tenant's server for a key with server_ids", async () => {
      const key = (
        await call('POST', '/api/api-keys', ADMIN_HEADERS, {
          name: 'tenant-b',
          scopes: ['mcp:read'],
          server_ids: ['beta'],
        })
      ).body.key as string;
      expect((await call('GET', '/api/servers/beta', { 'x-api-key': key })).status).toBe(200);
      expectError(await call('GET', '/api/servers/alpha/info', { 'x-api-key': key }), 403, 'AUTHORIZATION_DENIED');
    });
    it('keeps an admin limited to some servers from registering, changing or removing other servers', async () => {
      const key = (
        await call('POST', '/api/api-keys', ADMIN_HEADERS, {
          name: 'tenant-admin-b',
          scopes: ['mcp:admin'],
          server_ids: ['beta'],
        })
      ).body.key as string;
      const headers = { 'x-api-key': key };
      const register = await call('POST', '/api/servers', headers, {
        id: 'gamma',
        type: 'http',
        configuration: { url: 'http://127.0.0.1:9/mcp' },
      });
      expectError(register, 403, 'AUTHORIZATION_DENIED');
      expect((register.body as { error: { message: string } }).error.message).toContain('gamma');
      expectError(await call('PUT', '/api/servers/alpha', headers, { enabled: false }), 403, 'AUTHORIZATION_DENIED');
      expectError(await call('DELETE', '/api/servers/alpha', headers), 403, 'AUTHORIZATION_DENIED');
      expect((await call('GET', '/api/servers/alpha', ADMIN_HEADERS)).status).toBe(200);
    });
  });

  describe('with jwk-set-uri and an HS256 issuer and audience', () => {
    let other: TestGateway;
    let otherDb: TestDatabase;

    beforeAll(async () => {
      otherDb = await createTestDatabase('security_auth_jwks');
      other = await startTestGateway({
        databaseUrl: otherDb.url,
        yaml: `mcp:
  security:
    jwt:
      secret: ${SECRET}
      issuer: globalmcp-tests
      audience: globalmcp
      clock-skew: 0
spring:
  security:
    oauth2:
      resourceserver:
        jwt:
          jwk-set-uri: ${issuer.issuer}/protocol/certs
          jws-algorithms: [RS256]
`,
      });
    }, 60_000);

    afterAll(async () => {
      await other?.stop();
      await otherDb?.drop();
    });

    const get = async (token: string) =>
      (await fetch(`${other.addresses.api}/api/servers`, { headers: bearer(token) })).status;

    it('verifies RS256 tokens against the configured JWKS, with any audience when none is configured', async () => {
      expect(await get(await issuer.sign({ scope: 'mcp:read' }, { kid: 'rsa-1', audience: 'anything' }))).toBe(200);
    });

    it('describes OAuth2 as a bearer JWT in the OpenAPI document: no issuer, so no token URL to publish', async () => {
      const doc = (await (await fetch(`${other.addresses.api}/v3/api-docs`)).json()) as {
        components: { securitySchemes: Record<string, { type: string; flows?: unknown; description: string }> };
      };
      expect(doc.components.securitySchemes.oauth2).toMatchObject({ type: 'http', scheme: 'bearer' });
      expect(doc.components.securitySchemes.oauth2!.description).toContain(`${issuer.issuer}/protocol/certs`);
      expect(JSON.stringify(doc)).not.toContain('/oauth2/token');
    });

    it('refuses algorithms outside jws-algorithms (ES256 here)', async () => {
      expect(await get(await issuer.sign({ scope: 'mcp:read' }, { kid: 'ec-1' }))).toBe(401);
    });

    it('checks iss and aud of HS256 tokens when configured', async () => {
      const claims = { scope: 'mcp:read' };
      expect(await get(await signHs256(SECRET, claims, { audience: 'globalmcp' }, 'globalmcp-tests'))).toBe(200);
      expect(await get(await signHs256(SECRET, claims, { audience: 'globalmcp' }, 'someone-else'))).toBe(401);
      expect(await get(await signHs256(SECRET, claims, { audience: 'other' }, 'globalmcp-tests'))).toBe(401);
      expect(await get(await signHs256(SECRET, claims, {}, 'globalmcp-tests'))).toBe(401);
    });

    it('stops accepting a token at its exp, although its principal was cached (clock skew 0 here)', async () => {
      const token = await signHs256(
        SECRET,
        { scope: 'mcp:read' },
        { audience: 'globalmcp', expiresIn: 2 },
        'globalmcp-tests',
      );
      const exp = (JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { exp: number }).exp;
      // Verified on the first request, served from the cache on the others.
      for (let i = 0; i < 3; i++) expect(await get(token)).toBe(200);
      await new Promise((r) => setTimeout(r, exp * 1000 - Date.now() + 20));
      const answer = await fetch(`${other.addresses.api}/api/servers`, { headers: bearer(token) });
      expect(answer.status).toBe(401);
      expect(((await answer.json()) as Envelope).error.details).toEqual({ reason: 'jwt expired' });
    });
  });

  describe('the OpenAPI document', () => {
    // The RFC 9728 metadata of the MCP endpoint is public by definition: clients read it to find the issuer.
    const PUBLIC = new Set([
      'get /api/health',
      'get /.well-known/oauth-protected-resource',
      'get /.well-known/oauth-protected-resource/mcp',
      'get /.well-known/oauth-protected-resource/mcp/{serverId}',
    ]);

    it('declares bearer, OAuth2 and API-key schemes and the security of every operation', async () => {
      const doc = (await call('GET', '/v3/api-docs')).body as {
        components: { securitySchemes: Record<string, { type: string; openIdConnectUrl?: string }> };
        paths: Record<string, Record<string, { security?: Array<Record<string, string[]>> }>>;
      };
      // The gateway issues no tokens: the OAuth2 scheme points at the issuer's metadata (its token endpoint).
      expect(doc.components.securitySchemes).toMatchObject({
        bearer: { type: 'http' },
        oauth2: { type: 'openIdConnect', openIdConnectUrl: `${issuer.issuer}/.well-known/openid-configuration` },
        api_key: { type: 'apiKey' },
      });
      const metadata = await fetch(doc.components.securitySchemes.oauth2!.openIdConnectUrl!);
      expect(metadata.status).toBe(200);
      expect(((await metadata.json()) as { issuer: string }).issuer).toBe(issuer.issuer);
      for (const [p, item] of Object.entries(doc.paths)) {
        for (const [method, operation] of Object.entries(item)) {
          const names = (operation.security ?? []).flatMap((s) => Object.keys(s)).sort();
          if (PUBLIC.has(`${method} ${p}`)) expect(names).toEqual([]);
          else
            expect({ route: `${method} ${p}`, names }).toEqual({
              route: `${method} ${p}`,
              names: ['api_key', 'bearer', 'oauth2'],
            });
        }
      }
    });

    it('protects every route it lists: 401 without credentials unless public', async () => {
      const doc = (await call('GET', '/v3/api-docs')).body as { paths: Record<string, Record<string, unknown>> };
      let checked = 0;
      for (const [p, item] of Object.entries(doc.paths)) {
        for (const method of Object.keys(item)) {
          const url = p.replace('{id}', 'alpha').replace('{name}', 'echo').replace('{tool}', 'echo');
          const answer = await call(
            method.toUpperCase(),
            url,
            {},
            ['post', 'put', 'patch'].includes(method) ? {} : undefined,
          );
          if (PUBLIC.has(`${method} ${p}`)) expect(answer.status).not.toBe(401);
          else {
            expect({ route: `${method} ${p}`, status: answer.status }).toEqual({
              route: `${method} ${p}`,
              status: 401,
            });
            expect(answer.body.error.code).toBe('AUTHENTICATION_FAILED');
          }
          checked++;
        }
      }
      expect(checked).toBeGreaterThan(20);
    });
  });
});
