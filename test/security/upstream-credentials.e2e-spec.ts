import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ADMIN_HEADERS } from '../support/auth';
import {
  clientToken,
  type FixtureProcess,
  startTestProvider,
  startWhoamiUpstream,
  type TestProviderInfo,
} from '../support/oauth-fixtures';
import { createTestDatabase, type TestDatabase } from '../support/test-database';
import { startTestGateway, type TestGateway } from '../support/test-gateway';
import { waitFor, waitForTools } from '../support/wait';

// Upstream credentials (ADR 0007) against a real OpenID Provider (oidc-provider, with the RFC 8693 grant registered)
// and an upstream that accepts only that provider's tokens for its own audience and says who each request came as.
const GATEWAY_AUDIENCE = 'https://gateway.test/';
const UPSTREAM_AUDIENCE = 'https://upstream.test/mcp';
/** Lifetime of the provider's tokens for the upstream: short, so a refresh happens within the test. */
const UPSTREAM_TTL_S = 5;
const MESH_SECRET = 'mesh-secret-0123456789';

interface Whoami {
  via: 'token' | 'mesh';
  sub?: string;
  client_id?: string;
  act?: { sub: string };
  aud?: string;
  jti?: string;
  /** Seconds since the epoch the token was issued. */
  iat?: number;
  headers: Record<string, string>;
}

describe('Upstream credentials (static, client credentials, token exchange, claims to headers)', () => {
  let db: TestDatabase;
  let provider: FixtureProcess<TestProviderInfo>;
  let upstream: FixtureProcess<string>;
  let gateway: TestGateway;
  let api: string;
  let idp: TestProviderInfo;
  const tokens: Record<string, string> = {};
  const logDir = mkdtempSync(path.join(tmpdir(), 'upstream-credentials-'));
  const logFile = path.join(logDir, 'gateway.log');

  const bearer = (who: string) => ({ authorization: `Bearer ${tokens[who]}` });
  const call = async (method: string, path: string, headers: Record<string, string>, body?: unknown) => {
    const res = await fetch(`${api}${path}`, {
      method,
      headers: { ...headers, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      body: body !== undefined ? JSON.stringify(body) : undefined,
    });
    const text = await res.text();
    return { status: res.status, text, body: text ? (JSON.parse(text) as any) : undefined };
  };
  const whoami = async (serverId: string, headers: Record<string, string>) => {
    const res = await call('POST', '/api/tools/whoami/execute', headers, { server_id: serverId, parameters: {} });
    if (res.status !== 200) throw new Error(`whoami on ${serverId}: ${res.status} ${res.text}`);
    return JSON.parse(res.body.result.content[0].text as string) as Whoami;
  };
  const stats = async () =>
    (await (await fetch(`${idp.issuer}/_test/stats`)).json()) as {
      client_credentials: Record<string, number>;
      'urn:ietf:params:oauth:grant-type:token-exchange': Record<string, number>;
    };
  const metric = async (labels: string) => {
    const text = await (await fetch(`${gateway.addresses.metrics}/actuator/prometheus`)).text();
    const line = text.split('\n').find((l) => l.startsWith(`mcp_upstream_credentials_total{${labels}}`));
    return line ? Number(line.split(' ').pop()) : 0;
  };

  beforeAll(async () => {
    provider = await startTestProvider({
      gatewayResource: GATEWAY_AUDIENCE,
      upstreamResource: UPSTREAM_AUDIENCE,
      upstreamTtl: UPSTREAM_TTL_S,
      exchangeTtl: 600,
    });
    idp = provider.ready;
    upstream = await startWhoamiUpstream({ issuer: idp.issuer, audience: UPSTREAM_AUDIENCE, meshSecret: MESH_SECRET });
    for (const who of ['alice-app', 'bob-app', 'carol-app', 'dave-app'])
      tokens[who] = await clientToken(idp, who, GATEWAY_AUDIENCE, 'mcp:read mcp:write');
    db = await createTestDatabase('upstream_credentials');
    const client = (mode: string) => `
      auth:
        mode: ${mode}
        token-endpoint: ${idp.issuer}/token
        client-id: globalmcp
        client-secret: ${idp.clients.globalmcp}
        resource: ${UPSTREAM_AUDIENCE}`;
    gateway = await startTestGateway({
      databaseUrl: db.url,
      yaml: `mcp:
  servers:
    plain:
      type: http
      url: ${upstream.ready}
      headers:
        x-mesh-secret: ${MESH_SECRET}
    cc:
      type: http
      url: ${upstream.ready}${client('oauth-client-credentials')}
    te:
      type: http
      url: ${upstream.ready}${client('token-exchange')}
        audience: ${UPSTREAM_AUDIENCE}
    mesh:
      type: http
      url: ${upstream.ready}
      headers:
        x-mesh-secret: ${MESH_SECRET}
      auth:
        mode: claims-to-headers
        claims:
          x-user-sub: sub
          x-user-groups: groups
logging:
  level:
    UpstreamCredentials: DEBUG
  file:
    name: ${logFile}
spring:
  security:
    oauth2:
      resourceserver:
        jwt:
          issuer-uri: ${idp.issuer}
          audiences: [${GATEWAY_AUDIENCE}]
`,
    });
    api = gateway.addresses.api;
    for (const id of ['plain', 'cc', 'te', 'mesh']) await waitForTools(api, id, ADMIN_HEADERS);
  }, 90_000);

  afterAll(async () => {
    await gateway?.stop();
    await db?.drop();
    await upstream?.stop();
    await provider?.stop();
    rmSync(logDir, { recursive: true, force: true });
  });

  it('static: the configured headers reach the upstream for every caller', async () => {
    expect(await whoami('plain', ADMIN_HEADERS)).toEqual({ via: 'mesh', headers: {} });
  });

  it('oauth-client-credentials: one token of the gateway, reused, then refreshed before it expires', async () => {
    // The gateway refreshes in the last fifth of a token's lifetime; iat is whole seconds, so this is the earliest.
    const refreshAt = (answer: Whoami) => answer.iat! * 1000 + UPSTREAM_TTL_S * 800;
    let first = await whoami('cc', ADMIN_HEADERS);
    expect(first).toMatchObject({ via: 'token', sub: 'globalmcp', client_id: 'globalmcp', aud: UPSTREAM_AUDIENCE });
    if (Date.now() + 1_000 > refreshAt(first)) {
      // The token in use (obtained at connect) is about to be refreshed: start from the next one.
      await new Promise((r) => setTimeout(r, first.iat! * 1000 + UPSTREAM_TTL_S * 1000 + 100 - Date.now()));
      first = await whoami('cc', ADMIN_HEADERS);
    }
    const issued = (await stats()).client_credentials.globalmcp ?? 0;
    // Another caller, same server credential: the same token, nothing asked of the provider.
    const second = await whoami('cc', bearer('alice-app'));
    expect(Date.now()).toBeLessThan(refreshAt(first));
    expect(second.jti).toBe(first.jti);
    expect((await stats()).client_credentials.globalmcp ?? 0).toBe(issued);
    // Past the refresh point: the next request gets a new token (and the upstream accepts it).
    await new Promise((r) => setTimeout(r, first.iat! * 1000 + UPSTREAM_TTL_S * 1000 + 100 - Date.now()));
    const third = await whoami('cc', ADMIN_HEADERS);
    expect(third.sub).toBe('globalmcp');
    expect(third.jti).not.toBe(first.jti);
    expect((await stats()).client_credentials.globalmcp).toBeGreaterThan(issued);
    expect(await metric('server="cc",mode="oauth-client-credentials",action="refreshed"')).toBeGreaterThanOrEqual(1);
    expect(await metric('server="cc",mode="oauth-client-credentials",action="used"')).toBeGreaterThanOrEqual(3);
  }, 30_000);

  it("token-exchange: each caller's call carries its own identity, exchanged once per principal", async () => {
    const [alice, bob] = await Promise.all([whoami('te', bearer('alice-app')), whoami('te', bearer('bob-app'))]);
    expect(alice).toMatchObject({ via: 'token', sub: 'alice-app', act: { sub: 'globalmcp' }, aud: UPSTREAM_AUDIENCE });
    expect(bob).toMatchObject({ via: 'token', sub: 'bob-app', act: { sub: 'globalmcp' }, aud: UPSTREAM_AUDIENCE });
    // Interleaved calls of both: never the other's token.
    const mixed = await Promise.all(
      Array.from({ length: 8 }, (_, i) => whoami('te', bearer(i % 2 ? 'bob-app' : 'alice-app'))),
    );
    mixed.forEach((answer, i) => expect(answer.sub).toBe(i % 2 ? 'bob-app' : 'alice-app'));
    // Cached per principal until it expires (10 minutes here): every later call of alice reuses her exchanged token.
    expect(new Set(mixed.filter((_, i) => i % 2 === 0).map((a) => a.jti))).toEqual(new Set([alice.jti]));
    expect(new Set(mixed.filter((_, i) => i % 2 === 1).map((a) => a.jti))).toEqual(new Set([bob.jti]));
    expect(alice.jti).not.toBe(bob.jti);
    const exchanges = (await stats())['urn:ietf:params:oauth:grant-type:token-exchange'];
    expect(exchanges).toEqual({ 'globalmcp:alice-app': 1, 'globalmcp:bob-app': 1 });
    expect(await metric('server="te",mode="token-exchange",action="obtained"')).toBe(2);
    expect(await metric('server="te",mode="token-exchange",action="used"')).toBe(10);
  });

  it('token-exchange through the /mcp front door: the session of each caller reaches the upstream as that caller', async () => {
    const session = async (who: string) => {
      const client = new Client({ name: 'e2e', version: '1.0.0' });
      await client.connect(
        new StreamableHTTPClientTransport(new URL(`${api}/mcp/te`), { requestInit: { headers: bearer(who) } }),
      );
      return client;
    };
    const [alice, bob] = await Promise.all([session('alice-app'), session('bob-app')]);
    try {
      const ask = async (client: Client) => {
        const result = (await client.callTool({ name: 'whoami', arguments: {} })) as { content: { text: string }[] };
        return JSON.parse(result.content[0]!.text) as Whoami;
      };
      const [a, b] = await Promise.all([ask(alice), ask(bob)]);
      expect(a.sub).toBe('alice-app');
      expect(b.sub).toBe('bob-app');
    } finally {
      await Promise.allSettled([alice.close(), bob.close()]);
    }
  });

  it('token-exchange in a job and a batch: each runs as the caller who started it', async () => {
    const job = await call('POST', '/api/servers/te/tools/whoami?mode=async', bearer('alice-app'), {});
    expect(job.status).toBe(202);
    let record: any;
    await waitFor(
      async () => {
        record = (await call('GET', `/api/executions/${job.body.execution_id}`, bearer('alice-app'))).body;
        return record.status === 'completed';
      },
      10_000,
      "alice's job to complete",
    );
    expect(JSON.parse(record.result.content[0].text as string)).toMatchObject({ sub: 'alice-app' });
    const batch = await call('POST', '/api/tools/batch', bearer('bob-app'), {
      executions: [
        { execution_id: 'one', tool_name: 'whoami', server_id: 'te', parameters: {} },
        { execution_id: 'two', tool_name: 'whoami', server_id: 'te', parameters: {}, depends_on: ['one'] },
      ],
    });
    expect(batch.status).toBe(200);
    for (const step of batch.body.executions)
      expect(JSON.parse(step.result.content[0].text as string)).toMatchObject({ sub: 'bob-app' });
  });

  it('token-exchange for resources and prompts: REST and /mcp reads and prompts reach the upstream as the caller', async () => {
    const asJson = (text: unknown) => JSON.parse(text as string) as Whoami;
    const read = await call('GET', '/api/resources/content?server_id=te&uri=whoami://me', bearer('alice-app'));
    expect(read.status).toBe(200);
    expect(asJson(read.body.content)).toMatchObject({ via: 'token', sub: 'alice-app', aud: UPSTREAM_AUDIENCE });
    const prompt = await call('POST', '/api/prompts/whoami/get', bearer('bob-app'), { server_id: 'te' });
    expect(prompt.status).toBe(200);
    expect(asJson(prompt.body.messages[0].content.text)).toMatchObject({ via: 'token', sub: 'bob-app' });
    // Without a bearer token there is nothing to exchange: refused as a tool call is, not a read as the gateway.
    const anonymous = await call('GET', '/api/resources/content?server_id=te&uri=whoami://me', ADMIN_HEADERS);
    expect(anonymous.status).toBe(403);
    expect(anonymous.body.error).toMatchObject({
      code: 'AUTHORIZATION_DENIED',
      details: { reason: 'UPSTREAM_AUTHORIZATION_REQUIRED', server_id: 'te', mode: 'token-exchange' },
    });

    const client = new Client({ name: 'e2e', version: '1.0.0' });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`${api}/mcp/te`), { requestInit: { headers: bearer('bob-app') } }),
    );
    try {
      const resource = await client.readResource({ uri: 'whoami://me' });
      expect(asJson((resource.contents[0] as { text: string }).text)).toMatchObject({ sub: 'bob-app' });
      const got = await client.getPrompt({ name: 'whoami' });
      expect(asJson((got.messages[0]!.content as { text: string }).text)).toMatchObject({ sub: 'bob-app' });
    } finally {
      await client.close();
    }
  });

  it("token-exchange: a token the upstream refuses before it expires is dropped, and the caller's next call exchanges again", async () => {
    const before = await whoami('te', bearer('carol-app'));
    await fetch(upstream.ready.replace(/\/mcp$/, `/_test/revoke?jti=${before.jti}`), { method: 'POST' });
    const refused = await call('POST', '/api/tools/whoami/execute', bearer('carol-app'), {
      server_id: 'te',
      parameters: {},
    });
    expect(refused.status).toBeGreaterThanOrEqual(500);
    expect(refused.text).not.toContain(tokens['carol-app']);
    const after = await whoami('te', bearer('carol-app'));
    expect(after.sub).toBe('carol-app');
    expect(after.jti).not.toBe(before.jti);
    expect(await metric('server="te",mode="token-exchange",action="rejected-by-upstream"')).toBeGreaterThanOrEqual(1);
  });

  it('token-exchange refuses a caller without a bearer token, with nothing on record', async () => {
    const before = (await call('GET', '/api/executions?server_id=te&limit=1', ADMIN_HEADERS)).body.pagination.total;
    const res = await call('POST', '/api/tools/whoami/execute', ADMIN_HEADERS, { server_id: 'te', parameters: {} });
    expect(res.status).toBe(403);
    expect(res.body.error).toMatchObject({
      code: 'AUTHORIZATION_DENIED',
      details: { reason: 'UPSTREAM_AUTHORIZATION_REQUIRED', server_id: 'te', mode: 'token-exchange' },
    });
    expect(res.body.error.message).toMatch(/bearer token/);
    expect((await call('GET', '/api/executions?server_id=te&limit=1', ADMIN_HEADERS)).body.pagination.total).toBe(
      before,
    );
  });

  it('claims-to-headers: the named claims of each caller, and a refusal for a caller without them', async () => {
    expect(await whoami('mesh', bearer('alice-app'))).toEqual({
      via: 'mesh',
      headers: { 'x-user-sub': 'alice-app', 'x-user-groups': 'eng,ops' },
    });
    expect((await whoami('mesh', bearer('bob-app'))).headers).toEqual({
      'x-user-sub': 'bob-app',
      'x-user-groups': 'sales',
    });
    const refused = await call('POST', '/api/tools/whoami/execute', ADMIN_HEADERS, {
      server_id: 'mesh',
      parameters: {},
    });
    expect(refused.status).toBe(403);
    expect(refused.body.error.details).toMatchObject({ reason: 'UPSTREAM_AUTHORIZATION_REQUIRED', claim: 'sub' });
  });

  describe('through the servers API', () => {
    const register = (id: string, auth: Record<string, unknown>) =>
      call('POST', '/api/servers', ADMIN_HEADERS, { id, type: 'http', configuration: { url: upstream.ready, auth } });

    it('refuses an unknown mode and a missing client secret, and stores nothing', async () => {
      const unknown = await register('bad-mode', { mode: 'kerberos' });
      expect(unknown.status).toBe(400);
      expect(unknown.body.error.message).toMatch(/configuration\.auth\.mode: unknown upstream credential mode/);
      const noSecret = await register('no-secret', {
        mode: 'oauth-client-credentials',
        token_endpoint: `${idp.issuer}/token`,
        client_id: 'globalmcp',
      });
      expect(noSecret.status).toBe(400);
      expect(noSecret.body.error.message).toBe(
        'configuration.auth.client_secret: oauth-client-credentials needs a client-secret',
      );
      expect((await call('GET', '/api/servers/bad-mode', ADMIN_HEADERS)).status).toBe(404);
      expect((await call('GET', '/api/servers/no-secret', ADMIN_HEADERS)).status).toBe(404);
    });

    it('registers a client-credentials server whose secret is sealed and never shown', async () => {
      const secret = idp.clients.globalmcp!;
      const created = await register('api-cc', {
        mode: 'oauth-client-credentials',
        token_endpoint: `${idp.issuer}/token`,
        client_id: 'globalmcp',
        client_secret: secret,
        resource: UPSTREAM_AUDIENCE,
      });
      expect(created.status).toBe(201);
      expect(created.body.server_status).toBe('active');
      expect((await whoami('api-cc', ADMIN_HEADERS)).client_id).toBe('globalmcp');
      const shown = await call('GET', '/api/servers/api-cc', ADMIN_HEADERS);
      expect(shown.body.configuration.auth).toMatchObject({ mode: 'oauth-client-credentials', client_secret: '***' });
      expect(shown.text).not.toContain(secret);
      // A PUT that sends the mask back keeps the stored secret (the server still gets tokens).
      const put = await call('PUT', '/api/servers/api-cc', ADMIN_HEADERS, {
        configuration: { auth: { ...shown.body.configuration.auth, scope: 'whoami' } },
      });
      expect(put.status).toBe(200);
      await waitForTools(api, 'api-cc', ADMIN_HEADERS);
      expect((await whoami('api-cc', ADMIN_HEADERS)).client_id).toBe('globalmcp');
      expect((await call('DELETE', '/api/servers/api-cc?force=true', ADMIN_HEADERS)).status).toBe(200);
    });
  });

  it('answers 503 naming the token endpoint when the provider is down (last: it stops the provider)', async () => {
    await provider.stop();
    // dave has never called: his token must be exchanged now, and cannot be.
    const res = await call('POST', '/api/tools/whoami/execute', bearer('dave-app'), {
      server_id: 'te',
      parameters: {},
    });
    expect(res.status).toBe(503);
    expect(res.body.error.code).toBe('SERVER_UNAVAILABLE');
    expect(res.body.error.details.reason).toBe('token-endpoint-unreachable');
    expect(res.text).not.toContain(tokens['dave-app']);
    await waitFor(
      async () => (await metric('server="te",mode="token-exchange",action="failed"')) >= 1,
      5_000,
      'the failed exchange metered',
    );
  });

  it('never writes a token into a log line, an execution record or a response (run last)', async () => {
    const seen = (
      (await (await fetch(upstream.ready.replace(/\/mcp$/, '/_test/stats'))).json()) as { tokens: string[] }
    ).tokens;
    // Client-credential tokens (several: refreshed), one exchanged token per caller: what went upstream.
    expect(seen.length).toBeGreaterThanOrEqual(4);
    const secrets = [...seen, ...Object.values(tokens), ...Object.values(idp.clients)];
    await waitFor(
      () => existsSync(logFile) && /credential obtained/.test(readFileSync(logFile, 'utf8')),
      5_000,
      'the audit lines in the log file',
    );
    const log = readFileSync(logFile, 'utf8');
    expect(log).toMatch(/\[te\] token-exchange credential obtained for oauth2:[^ ]+:alice-app/);
    expect(log).toMatch(/\[cc\] oauth-client-credentials credential refreshed/);
    expect(log).toMatch(/\[te\] token-exchange credential used/);
    const executions = (await call('GET', '/api/executions?limit=200', ADMIN_HEADERS)).text;
    expect(executions).toContain('whoami');
    const servers = (await call('GET', '/api/servers?limit=100', ADMIN_HEADERS)).text;
    for (const secret of secrets) {
      expect(log).not.toContain(secret);
      expect(executions).not.toContain(secret);
      expect(servers).not.toContain(secret);
    }
  });
});
