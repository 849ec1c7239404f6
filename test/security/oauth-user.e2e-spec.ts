import { Client as ModernClient, StreamableHTTPClientTransport as ModernTransport } from '@modelcontextprotocol/client';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { globalmcp } from '../cli/cli';
import { ADMIN_HEADERS } from '../support/auth';
import { launchChromium, type LaunchedBrowser } from '../support/browser';
import type { FixtureProcess, UserProviderStats } from '../support/oauth-fixtures';
import type { TestDatabase } from '../support/test-database';
import { startTestGateway, type TestGateway } from '../support/test-gateway';
import { waitFor, waitForTools } from '../support/wait';
import { CLIENT_SECRET, ENV, JWT_SECRET, startOAuthUserWorld, type Whoami } from './oauth-user.support';
import { signHs256 } from './test-issuer';

// `oauth-user` (ADR 0011) against a real OpenID Provider with interactive login and consent pages (oidc-provider),
// driven in Debian's Chromium, and an upstream that accepts only that provider's tokens for its own URL and answers
// who each request came as. Two users, each with their own gateway API key, each authorising once.
describe('oauth-user: each user authorises the gateway once, and the upstream sees that user', () => {
  let db: TestDatabase;
  let upstream: FixtureProcess<string>;
  let provider: FixtureProcess<string>;
  /** A second provider and upstream: the provider takes Client ID Metadata Documents (and offers no registration). */
  let cimdProvider: FixtureProcess<string>;
  let cimdUpstream: FixtureProcess<string>;
  let cimdIssuer: string;
  /** `mcp.servers` of the gateway, for a second replica. */
  let serversYaml: string;
  /** A second replica on the same database; stopped in afterAll (stopped mid-file, the first answered 503 after). */
  let other: TestGateway | undefined;
  let gateway: TestGateway;
  let launched: LaunchedBrowser | undefined;
  let api: string;
  let issuer: string;
  const keys: Record<string, string> = {};
  const principals: Record<string, string> = {};
  const contexts: Record<string, BrowserContext> = {};
  const callbacks: string[] = [];
  const logDir = mkdtempSync(path.join(tmpdir(), 'oauth-user-'));
  const logFile = path.join(logDir, 'gateway.log');

  const as = (who: string) => ({ 'X-API-Key': keys[who]! });
  const call = async (method: string, route: string, headers: Record<string, string>, body?: unknown) => {
    const res = await fetch(`${api}${route}`, {
      method,
      headers: { ...headers, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      body: body !== undefined ? JSON.stringify(body) : undefined,
    });
    const text = await res.text();
    return { status: res.status, text, body: text ? (JSON.parse(text) as any) : undefined };
  };
  const whoamiCall = (serverId: string, who: string) =>
    call('POST', '/api/tools/whoami/execute', as(who), { server_id: serverId, parameters: {} });
  const whoami = async (serverId: string, who: string) => {
    const res = await whoamiCall(serverId, who);
    if (res.status !== 200) throw new Error(`whoami on ${serverId} as ${who}: ${res.status} ${res.text}`);
    return JSON.parse(res.body.result.content[0].text as string) as Whoami;
  };
  const stats = async () => (await (await fetch(`${issuer}/_test/stats`)).json()) as UserProviderStats;
  const metric = async (labels: string) => {
    const text = await (await fetch(`${gateway.addresses.metrics}/actuator/prometheus`)).text();
    const line = text.split('\n').find((l) => l.startsWith(`mcp_upstream_credentials_total{${labels}}`));
    return line ? Number(line.split(' ').pop()) : 0;
  };
  const executions = async () =>
    (await call('GET', '/api/executions?limit=1', ADMIN_HEADERS)).body.pagination.total as number;

  /** Proves on the confirmation page to be `who` with `who`'s API key (or the key given), and continues. */
  const confirmAs = async (page: Page, who: string, key = keys[who]!) => {
    await page.getByLabel('Your gateway API key or bearer token').fill(key);
    await page.getByRole('button', { name: /Continue to sign in/ }).click();
  };
  /** The refused call's link, opened in `who`'s browser: confirm, the provider's login and consent, back. */
  const authorise = async (serverId: string, who: string): Promise<Page> => {
    const refused = await whoamiCall(serverId, who);
    expect(refused.status).toBe(401);
    return openLink(refused.body.error.details.authorization_url as string, who);
  };
  const openLink = async (link: string, who: string): Promise<Page> => {
    const page = await contexts[who]!.newPage();
    page.setDefaultTimeout(15_000);
    page.on('request', (request) => {
      if (request.url().includes('/api/connections/callback')) callbacks.push(request.url());
    });
    await page.goto(link);
    // The gateway's confirmation names the server and the gateway user the link is for
    expect(await page.locator('main').innerText()).toContain(`gateway user ${who} (${principals[who]!})`);
    await confirmAs(page, who);
    await page.waitForURL((url) => url.origin === issuer || url.origin === cimdIssuer);
    if (await page.locator('input[name="login"]').count()) {
      await page.locator('input[name="login"]').fill(who);
      await page.locator('input[name="password"]').fill('wonderland');
      await page.getByRole('button', { name: 'Sign-in' }).click();
    }
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.waitForURL((url) => url.pathname === '/api/connections/callback');
    expect(await page.getByRole('status').innerText()).toMatch(/You can close this tab/);
    return page;
  };

  beforeAll(async () => {
    ({ db, upstream, provider, cimdProvider, cimdUpstream, issuer, cimdIssuer, serversYaml, gateway, api } =
      await startOAuthUserWorld(logFile));
    for (const id of ['pre', 'dyn', 'cimd']) await waitForTools(api, id, ADMIN_HEADERS);
    for (const who of ['alice', 'bob', 'carol']) {
      const created = await call('POST', '/api/api-keys', ADMIN_HEADERS, {
        name: who,
        scopes: ['mcp:read', 'mcp:write'],
      });
      keys[who] = created.body.key as string;
      principals[who] = `key:${created.body.id as string}`;
    }
    launched = await launchChromium();
    for (const who of ['alice', 'bob']) contexts[who] = await launched.browser.newContext();
  }, 120_000);

  afterAll(async () => {
    await launched?.close();
    await other?.stop();
    await gateway?.stop();
    await db?.drop();
    await provider?.stop();
    await upstream?.stop();
    await cimdProvider?.stop();
    await cimdUpstream?.stop();
    rmSync(logDir, { recursive: true, force: true });
  });

  it('answers a user without a connection 401 UPSTREAM_AUTHORIZATION_REQUIRED with the URL to open, nothing on record', async () => {
    const before = await executions();
    const res = await whoamiCall('pre', 'carol');
    expect(res.status).toBe(401);
    expect(res.body.error).toMatchObject({
      code: 'UPSTREAM_AUTHORIZATION_REQUIRED',
      details: { reason: 'USER_AUTHORIZATION_REQUIRED', server_id: 'pre', connection: 'not-connected' },
    });
    const url = new URL(res.body.error.details.authorization_url as string);
    expect(`${url.origin}${url.pathname}`).toBe(`${api}/api/connections/start`);
    // The link is sealed: the principal it is for is not readable in it
    expect(url.search).not.toContain(principals.carol!);
    expect(res.body.error.message).toContain(url.href);
    expect(await executions()).toBe(before);
  });

  it("refuses bob on alice's link (bob's key, a wrong key): nothing stored, and the link stays alice's to use", async () => {
    const link = (await call('POST', '/api/connections/pre', as('alice'))).body.authorization_url as string;
    const page = await contexts.bob!.newPage();
    page.setDefaultTimeout(15_000);
    await page.goto(link);
    expect(await page.locator('main').innerText()).toContain(`gateway user alice (${principals.alice!})`);
    // bob proves he is bob: not who the link is for
    await confirmAs(page, 'bob');
    await page.waitForURL((url) => url.pathname === '/api/connections/start');
    expect(await page.getByRole('alert').innerText()).toMatch(/made for another gateway user/);
    // A key the gateway never issued
    await page.goto(link);
    await confirmAs(page, 'bob', `${keys.bob!.slice(0, -4)}XXXX`);
    expect(await page.getByRole('alert').innerText()).toMatch(/does not accept this API key or token/);
    await page.close();
    // Not a browser, without the confirmation cookie: refused before any credential is looked at
    const forged = await fetch(`${api}/api/connections/start`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ link: new URL(link).searchParams.get('link')!, confirm: 'x', credential: keys.bob! }),
    });
    expect(forged.status).toBe(400);
    expect(((await forged.json()) as any).error.details).toEqual({ reason: 'confirmation-missing' });
    for (const who of ['alice', 'bob'])
      expect((await call('GET', '/api/connections', as(who))).body.connections).toEqual([]);
    expect((await stats()).authorization_code).toEqual({});
    // The refusals consumed nothing: alice opens the same link and connects as herself
    await (await openLink(link, 'alice')).close();
    expect((await whoami('pre', 'alice')).sub).toBe('alice');
  }, 60_000);

  it('admits a JWT principal who proves the link with his bearer token (and refuses another principal on it)', async () => {
    const token = await signHs256(JWT_SECRET, { scope: 'mcp:read mcp:write' }, { subject: 'dave' });
    const res = await call('POST', '/api/connections/pre', { authorization: `Bearer ${token}` });
    expect(res.status).toBe(200);
    const context = await launched!.browser.newContext();
    try {
      const page = await context.newPage();
      page.setDefaultTimeout(15_000);
      await page.goto(res.body.authorization_url as string);
      expect(await page.locator('main').innerText()).toMatch(/for the gateway user dave \(/);
      await confirmAs(page, 'alice');
      expect(await page.getByRole('alert').innerText()).toMatch(/made for another gateway user/);
      await page.goto(res.body.authorization_url as string);
      await confirmAs(page, 'dave', token);
      // Proven: the browser is sent on to the authorization server
      await page.waitForURL((url) => url.origin === issuer);
    } finally {
      await context.close();
    }
  }, 60_000);

  it("alice and bob each authorise once on the provider's pages; each call upstream carries that user's token", async () => {
    // alice authorised 'pre' with her link above
    await authorise('pre', 'bob');
    const [alice, bob] = await Promise.all([whoami('pre', 'alice'), whoami('pre', 'bob')]);
    expect(alice).toMatchObject({ via: 'token', sub: 'alice', client_id: 'globalmcp-user' });
    expect(bob).toMatchObject({ via: 'token', sub: 'bob', client_id: 'globalmcp-user' });
    const mixed = await Promise.all(Array.from({ length: 8 }, (_, i) => whoami('pre', i % 2 ? 'bob' : 'alice')));
    mixed.forEach((answer, i) => expect(answer.sub).toBe(i % 2 ? 'bob' : 'alice'));
    expect((await stats()).authorization_code).toEqual({ alice: 1, bob: 1 });
    expect(await metric('server="pre",mode="oauth-user",action="obtained"')).toBe(2);
  }, 90_000);

  it('registers the gateway dynamically (RFC 7591) where no client is configured', async () => {
    const registrations = (await stats()).registrations;
    // alice's provider session is still open: the provider asks for consent only
    await authorise('dyn', 'alice');
    expect((await stats()).registrations).toBe(registrations + 1);
    const answer = await whoami('dyn', 'alice');
    expect(answer.sub).toBe('alice');
    expect(answer.client_id).not.toBe('globalmcp-user');
  }, 60_000);

  it('identifies the gateway by a Client ID Metadata Document where the authorization server takes one', async () => {
    const documentUrl = `${api}/api/connections/client-metadata/cimd`;
    const document = (await (await fetch(documentUrl)).json()) as Record<string, unknown>;
    expect(document).toMatchObject({
      client_id: documentUrl,
      redirect_uris: [`${api}/api/connections/callback`],
      token_endpoint_auth_method: 'none',
    });
    await authorise('cimd', 'alice');
    const answer = await whoami('cimd', 'alice');
    expect(answer).toMatchObject({ via: 'token', sub: 'alice', client_id: documentUrl });
    const stats = (await (await fetch(`${cimdIssuer}/_test/stats`)).json()) as UserProviderStats;
    expect(stats.metadataDocuments).toContain(documentUrl);
    expect(stats.registrations).toBe(0);
    // A server with a configured client publishes no document
    expect((await fetch(`${api}/api/connections/client-metadata/pre`)).status).toBe(404);
  }, 60_000);

  it('refreshes a short-lived access token without the user noticing', async () => {
    const first = await whoami('pre', 'alice');
    const refreshed = (await stats()).refresh_token.alice ?? 0;
    // Calls keep succeeding as the 4 s tokens run out; the provider sees refresh grants for alice.
    await waitFor(
      async () => {
        expect((await whoami('pre', 'alice')).sub).toBe('alice');
        return ((await stats()).refresh_token.alice ?? 0) > refreshed;
      },
      20_000,
      "a refresh grant for alice's token",
      300,
    );
    const after = await whoami('pre', 'alice');
    expect(after.sub).toBe('alice');
    expect(after.jti).not.toBe(first.jti);
    expect(await metric('server="pre",mode="oauth-user",action="refreshed"')).toBeGreaterThanOrEqual(1);
    const list = await call('GET', '/api/connections', as('alice'));
    expect(list.body.connections.find((c: { server_id: string }) => c.server_id === 'pre').refreshed_at).not.toBeNull();
  }, 30_000);

  it('refreshes at once a user token the upstream refuses before it expires', async () => {
    // A token with at least a second of use left (the gateway refreshes 4 s tokens from about 2.4 s on)
    let before = await whoami('pre', 'bob');
    await waitFor(
      async () => {
        before = await whoami('pre', 'bob');
        return Date.now() < before.iat! * 1000 + 1_400;
      },
      10_000,
      'a fresh token for bob',
      100,
    );
    await fetch(upstream.ready.replace(/\/mcp$/, `/_test/revoke?jti=${before.jti}`), { method: 'POST' });
    const refused = await whoamiCall('pre', 'bob');
    expect(refused.status).toBeGreaterThanOrEqual(500);
    const after = await whoami('pre', 'bob');
    expect(after.sub).toBe('bob');
    expect(after.jti).not.toBe(before.jti);
    expect(await metric('server="pre",mode="oauth-user",action="rejected-by-upstream"')).toBeGreaterThanOrEqual(1);
  }, 30_000);

  it('refuses a redirect with a wrong state, a replayed redirect and a used link, storing nothing', async () => {
    const before = (await call('GET', '/api/connections', as('bob'))).body.connections;
    const page = await contexts.bob!.newPage();
    // A state the gateway never made
    const forged = await page.goto(`${api}/api/connections/callback?code=forged&state=forged-state&iss=${issuer}`);
    expect(forged!.status()).toBe(400);
    expect(await page.getByRole('alert').innerText()).toMatch(/wrong state/);
    // bob's own redirect, replayed (its code and state were used once)
    const replay = callbacks.find((u) => new URL(u).searchParams.has('code'))!;
    const replayed = await page.goto(replay);
    expect(replayed!.status()).toBe(400);
    expect(await page.getByRole('alert').innerText()).toMatch(/already completed/);
    // Not a browser: the envelope
    const envelope = await call('GET', `/api/connections/callback?code=x&state=y`, {});
    expect(envelope.status).toBe(400);
    expect(envelope.body.error).toMatchObject({ code: 'INVALID_PARAMETERS', details: { reason: 'state-unknown' } });
    // A link opened to its end once cannot start a second authorization
    const refused = await whoamiCall('dyn', 'bob');
    const link = refused.body.error.details.authorization_url as string;
    await page.goto(link);
    await confirmAs(page, 'bob');
    await page.waitForURL((url) => url.origin === issuer);
    await page.goto(link);
    await confirmAs(page, 'bob');
    expect(await page.getByRole('alert').innerText()).toMatch(/already used/);
    // A link altered by a character is not one the gateway made
    const altered = await page.goto(link.replace(/link=(.)/, (_m, c: string) => `link=${c === 'A' ? 'B' : 'A'}`));
    expect(altered!.status()).toBe(400);
    expect((await call('GET', '/api/connections', as('bob'))).body.connections).toEqual(before);
    await page.close();
  }, 60_000);

  it('asks an MCP client (2025-11-25) to open the URL: URLElicitationRequiredError -32042', async () => {
    const client = new Client({ name: 'e2e', version: '1.0.0' }, { capabilities: { elicitation: { url: {} } } });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`${api}/mcp/pre`), { requestInit: { headers: as('carol') } }),
    );
    try {
      const error = await client.callTool({ name: 'whoami', arguments: {} }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(McpError);
      expect((error as McpError).code).toBe(-32042);
      const [elicitation] = ((error as McpError).data as { elicitations: Record<string, string>[] }).elicitations;
      expect(elicitation).toMatchObject({ mode: 'url', elicitationId: expect.any(String) });
      expect(elicitation!.url!.startsWith(`${api}/api/connections/start?link=`)).toBe(true);
      // alice, connected, calls through the same front door as herself
      const alice = new Client({ name: 'e2e', version: '1.0.0' });
      await alice.connect(
        new StreamableHTTPClientTransport(new URL(`${api}/mcp/pre`), { requestInit: { headers: as('alice') } }),
      );
      try {
        const result = (await alice.callTool({ name: 'whoami', arguments: {} })) as { content: { text: string }[] };
        expect((JSON.parse(result.content[0]!.text) as Whoami).sub).toBe('alice');
      } finally {
        await alice.close();
      }
    } finally {
      await client.close();
    }
  });

  it('asks a 2026-07-28 client input_required with a URL elicitation; its retry after the browser flow succeeds', async () => {
    const asked: Record<string, unknown>[] = [];
    const client = new ModernClient(
      { name: 'e2e-oauth-user', version: '1.0.0' },
      { versionNegotiation: { mode: { pin: '2026-07-28' } }, capabilities: { elicitation: { url: {} } } },
    );
    // What an IDE does: open the URL in the user's browser, and say so once the user is done there
    client.setRequestHandler('elicitation/create', async (request) => {
      asked.push(request.params as Record<string, unknown>);
      await (await openLink((request.params as { url: string }).url, 'bob')).close();
      return { action: 'accept' } as never;
    });
    await client.connect(new ModernTransport(new URL(`${api}/mcp/dyn`), { requestInit: { headers: as('bob') } }));
    try {
      const result = (await client.callTool({ name: 'whoami', arguments: {} })) as { content: { text: string }[] };
      expect((JSON.parse(result.content[0]!.text) as Whoami).sub).toBe('bob');
    } finally {
      await client.close();
    }
    expect(asked).toHaveLength(1);
    expect(asked[0]).toMatchObject({ mode: 'url', message: expect.stringContaining("Server 'dyn' acts as each user") });
    expect(String(asked[0]!.url).startsWith(`${api}/api/connections/start?link=`)).toBe(true);
  }, 60_000);

  it("serves a user's connection on another replica, which refreshes it with the client it was issued to", async () => {
    other = await startTestGateway({ databaseUrl: db.url, env: ENV, yaml: serversYaml });
    const replica = other.addresses.api;
    await waitForTools(replica, 'dyn', ADMIN_HEADERS);
    const onOther = async () => {
      const res = await fetch(`${replica}/api/tools/whoami/execute`, {
        method: 'POST',
        headers: { ...as('bob'), 'content-type': 'application/json' },
        body: JSON.stringify({ server_id: 'dyn', parameters: {} }),
      });
      const body = (await res.json()) as { result: { content: { text: string }[] } };
      expect(res.status).toBe(200);
      return JSON.parse(body.result.content[0]!.text) as Whoami;
    };
    const first = await onOther();
    expect(first.sub).toBe('bob');
    const before = await stats();
    // Its own listener address differs from the first replica's: it registers no client of its own to refresh with
    await waitFor(
      async () =>
        (await onOther()).sub === 'bob' && ((await stats()).refresh_token.bob ?? 0) > (before.refresh_token.bob ?? 0),
      20_000,
      "a refresh of bob's token by the other replica",
      300,
    );
    expect((await onOther()).client_id).toBe(first.client_id);
    expect((await stats()).registrations).toBe(before.registrations);
  }, 60_000);

  it('answers a 2026-07-28 client that declared no URL elicitation an error naming the URL (no -32042 on this revision)', async () => {
    const res = await fetch(`${api}/mcp/pre`, {
      method: 'POST',
      headers: {
        ...as('carol'),
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'mcp-protocol-version': '2026-07-28',
        'mcp-method': 'tools/call',
        'mcp-name': 'whoami',
      },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'tools/call',
        params: {
          name: 'whoami',
          arguments: {},
          _meta: {
            'io.modelcontextprotocol/protocolVersion': '2026-07-28',
            'io.modelcontextprotocol/clientCapabilities': {},
          },
        },
      }),
    });
    const body = (await res.json()) as { error: { code: number; message: string; data: any } };
    expect(body.error.code).toBe(-32600);
    expect(body.error.data).toMatchObject({ code: 'UPSTREAM_AUTHORIZATION_REQUIRED' });
    expect(body.error.message).toContain(body.error.data.details.authorization_url);
  });

  it("lists the caller's connections (never a token), and DELETE revokes at the provider so the next call asks again", async () => {
    const list = await call('GET', '/api/connections', as('alice'));
    expect(list.status).toBe(200);
    expect(list.body.connections.map((c: { server_id: string }) => c.server_id)).toEqual(['cimd', 'dyn', 'pre']);
    expect(list.body.connections[2]).toMatchObject({ issuer, scopes: ['whoami'], server_id: 'pre' });
    expect(Object.keys(list.body.connections[2]).sort()).toEqual(
      ['created_at', 'expires_at', 'issuer', 'refreshed_at', 'scopes', 'server_id'].sort(),
    );
    expect((await call('GET', '/api/connections', as('carol'))).body.connections).toEqual([]);
    const revocations = (await stats()).revocations;
    const revoked = await call('DELETE', '/api/connections/pre', as('alice'));
    expect(revoked.status).toBe(200);
    expect(revoked.body).toMatchObject({ server_id: 'pre', revoked_at_authorization_server: true });
    expect((await stats()).revocations).toBe(revocations + 1);
    const again = await whoamiCall('pre', 'alice');
    expect(again.status).toBe(401);
    expect(again.body.error.code).toBe('UPSTREAM_AUTHORIZATION_REQUIRED');
    expect((await call('DELETE', '/api/connections/pre', as('alice'))).status).toBe(404);
    // bob's connection is his own: untouched
    expect((await whoami('pre', 'bob')).sub).toBe('bob');
    expect(await metric('server="pre",mode="oauth-user",action="revoked"')).toBe(1);
  });

  it('globalmcp connections list|revoke, and a CLI call that needs an authorisation exits 2 with the link', async () => {
    const cli = (who: string, args: string[]) =>
      globalmcp(args, { HOME: logDir, GLOBALMCP_URL: api, GLOBALMCP_API_KEY: keys[who]! });
    const listed = await cli('alice', ['connections', 'list', '-o', 'json']);
    expect(listed.code).toBe(0);
    expect((JSON.parse(listed.stdout) as { connections: { server_id: string }[] }).connections).toEqual([
      expect.objectContaining({ server_id: 'cimd', issuer: cimdIssuer }),
      expect.objectContaining({ server_id: 'dyn', scopes: ['whoami'] }),
    ]);
    const revoked = await cli('alice', ['connections', 'revoke', 'dyn']);
    expect(revoked.code).toBe(0);
    expect(revoked.stdout).toContain('revoked dyn: revoked at the authorization server too');
    expect((await cli('alice', ['connections', 'revoke', 'dyn'])).code).toBe(3);
    const connect = await cli('carol', ['connections', 'connect', 'pre', '-o', 'json']);
    expect(connect.code).toBe(0);
    expect((JSON.parse(connect.stdout) as { authorization_url: string }).authorization_url).toContain(
      `${api}/api/connections/start?link=`,
    );
    const refused = await cli('carol', ['tools', 'call', 'pre', 'whoami']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(`${api}/api/connections/start?link=`);
  }, 30_000);

  it('hands out a link before any call (POST /api/connections/{server_id}), for the caller only', async () => {
    const link = await call('POST', '/api/connections/dyn', as('carol'));
    expect(link.status).toBe(200);
    expect(link.body.authorization_url).toMatch(new RegExp(`^${api}/api/connections/start\\?link=`));
    expect(Date.parse(link.body.expires_at as string)).toBeGreaterThan(Date.now());
    contexts.carol = await launched!.browser.newContext();
    await (await openLink(link.body.authorization_url as string, 'carol')).close();
    expect((await whoami('dyn', 'carol')).sub).toBe('carol');
    expect((await call('POST', '/api/connections/nope', as('carol'))).status).toBe(404);
  }, 60_000);

  it('refuses oauth-user settings that cannot work through the servers API, and stores nothing', async () => {
    const res = await call('POST', '/api/servers', ADMIN_HEADERS, {
      id: 'half',
      type: 'http',
      configuration: { url: upstream.ready, auth: { mode: 'oauth-user', client_secret: 'orphan-secret' } },
    });
    expect(res.status).toBe(400);
    expect(res.body.error.message).toBe(
      'configuration.auth.client_id: oauth-user with a client-secret needs the client-id it belongs to',
    );
    expect((await call('GET', '/api/servers/half', ADMIN_HEADERS)).status).toBe(404);
  });

  it('never writes a token into a log line, an execution record or a response (run last)', async () => {
    const seen = (
      (await (await fetch(upstream.ready.replace(/\/mcp$/, '/_test/stats'))).json()) as { tokens: string[] }
    ).tokens;
    expect(seen.length).toBeGreaterThanOrEqual(3);
    await waitFor(
      () => existsSync(logFile) && /oauth-user credential refreshed/.test(readFileSync(logFile, 'utf8')),
      5_000,
      'the audit lines in the log file',
    );
    const log = readFileSync(logFile, 'utf8');
    expect(log).toMatch(/\[pre\] oauth-user credential obtained for key:/);
    const records = (await call('GET', '/api/executions?limit=200', ADMIN_HEADERS)).text;
    const lists = [
      (await call('GET', '/api/connections', as('alice'))).text,
      (await call('GET', '/api/connections', as('bob'))).text,
      (await call('GET', '/api/servers?limit=100', ADMIN_HEADERS)).text,
    ];
    // Nor an API key entered on a confirmation page
    for (const token of [...seen, CLIENT_SECRET, ...Object.values(keys)]) {
      expect(log).not.toContain(token);
      expect(records).not.toContain(token);
      for (const text of lists) expect(text).not.toContain(token);
    }
  });
});
