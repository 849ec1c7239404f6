import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { BrowserContext, Page, Request } from 'playwright-core';
import { seriousViolations } from '../support/axe';
import { launchChromium, type LaunchedBrowser } from '../support/browser';
import { EVERYTHING, REPO } from '../support/paths';
import { freePort } from '../support/ports';
import { isAlive } from '../support/processes';
import { createTestDatabase, type TestDatabase } from '../support/test-database';
import { startTestGateway, type TestGateway } from '../support/test-gateway';
import { waitForTools } from '../support/wait';

const OUTPUT = path.join(REPO, 'test-output', 'console');
const CLIENT_ID = 'globalmcp-console';

/** oidc-provider in its own process (test/fixtures/oidc-console-issuer.mjs) on `port`; resolves once it serves. */
function startIssuer(
  port: number,
  redirectUri: string,
  resource: string,
): Promise<{ child: ChildProcess; issuer: string }> {
  const child = spawn(
    process.execPath,
    [
      path.join(REPO, 'test', 'fixtures', 'oidc-console-issuer.mjs'),
      JSON.stringify({ port, clientId: CLIENT_ID, redirectUri, resource }),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    child.stderr!.on('data', (chunk: Buffer) => (err += chunk.toString()));
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const ready = /^READY (\S+)$/m.exec(out);
      if (ready) resolve({ child, issuer: ready[1]! });
    });
    child.once('exit', (code) => reject(new Error(`the issuer exited (${code}): ${err}`)));
  });
}

/**
 * The console's OAuth2 sign-in (authorization code + PKCE) against a real OpenID Provider on loopback, in Debian's
 * Chromium: the provider's own login and consent pages, the token kept in sessionStorage and sent as a bearer token,
 * scopes deciding what is shown, sign-out, and a forged `state` refused.
 */
describe('the web console signs in at an OAuth2 issuer (headless Chromium, oidc-provider)', () => {
  let db: TestDatabase;
  let gateway: TestGateway;
  let issuerProcess: ChildProcess | undefined;
  let issuer = '';
  let launched: LaunchedBrowser | undefined;
  let context: BrowserContext;
  let page: Page;
  const pageErrors: string[] = [];
  const apiRequests: Request[] = [];

  const shot = (name: string) => page.screenshot({ path: path.join(OUTPUT, `${name}.png`), fullPage: true });

  beforeAll(async () => {
    execFileSync(process.execPath, [path.join(REPO, 'console', 'build.mjs')], { stdio: 'inherit' });
    db = await createTestDatabase('console-oauth');
    // The issuer's port is chosen first: the gateway is configured with its URL, the issuer with the gateway's
    // redirect URI. Nothing asks the issuer anything before it runs (keys are fetched when a token arrives).
    const issuerPort = await freePort();
    issuer = `http://127.0.0.1:${issuerPort}`;
    const resource = 'https://gateway.console-test/';
    gateway = await startTestGateway({
      databaseUrl: db.url,
      yaml:
        `spring:\n  security:\n    oauth2:\n      resourceserver:\n        jwt:\n          issuer-uri: ${issuer}\n` +
        `          audiences: ["${resource}"]\n` +
        // No mcp:admin asked for: the signed-in user gets a token that may read and call, not administer.
        `mcp:\n  console:\n    oauth2:\n      client-id: ${CLIENT_ID}\n      scopes: openid,mcp:read,mcp:write\n` +
        `      resource: ${resource}\n` +
        `  servers:\n    everything:\n      type: stdio\n      command: node\n      args: ["${EVERYTHING}", stdio]\n`,
    });
    const started = await startIssuer(issuerPort, `${gateway.addresses.api}/console`, resource);
    issuerProcess = started.child;
    expect(started.issuer).toBe(issuer);
    await waitForTools(gateway.addresses.api, 'everything', gateway.authHeaders, 30_000);
    launched = await launchChromium();
    context = await launched.browser.newContext({ viewport: { width: 1280, height: 900 } });
    page = await context.newPage();
    page.setDefaultTimeout(15_000);
    page.on('pageerror', (error) => pageErrors.push(error.message));
    page.on('request', (request) => {
      if (new URL(request.url()).pathname.startsWith('/api/')) apiRequests.push(request);
    });
    mkdirSync(OUTPUT, { recursive: true });
  }, 90_000);

  afterAll(async () => {
    await launched?.close();
    if (issuerProcess?.pid && isAlive(issuerProcess.pid)) {
      const exited = new Promise((resolve) => issuerProcess!.once('exit', resolve));
      issuerProcess.kill('SIGTERM');
      await exited;
    }
    await gateway?.stop();
    await db?.drop();
  });

  it('tells the page where to sign in, and lets the page (only) fetch from the issuer', async () => {
    const config = await (await fetch(`${gateway.addresses.api}/console/config.json`)).json();
    expect(config).toEqual({
      oauth2: {
        issuer,
        client_id: CLIENT_ID,
        scopes: ['openid', 'mcp:read', 'mcp:write'],
        resource: 'https://gateway.console-test/',
      },
    });
    const html = await fetch(`${gateway.addresses.api}/console`);
    expect(html.headers.get('content-security-policy')).toContain(`connect-src 'self' ${issuer}`);
    const api = await fetch(`${gateway.addresses.api}/api/auth/me`);
    expect(api.headers.get('content-security-policy')).not.toContain(issuer);
  });

  it('refuses an answer whose state is not the one this tab sent, with a clear message', async () => {
    await page.goto(`${gateway.addresses.api}/console`);
    await page.getByRole('button', { name: 'Sign in with your identity provider' }).click();
    await page.waitForURL((url) => url.origin === issuer);
    // Back at the console with a code and a state the tab never made (what a forged link would carry)
    await page.goto(
      `${gateway.addresses.api}/console?code=forged-code&state=forged-state&iss=${encodeURIComponent(issuer)}`,
    );
    const alert = page.getByRole('alert');
    await alert.waitFor();
    expect(await alert.innerText()).toMatch(
      /Sign-in refused: .*does not match the sign-in this tab started \(wrong state\)/,
    );
    expect(new URL(page.url()).search).toBe(''); // the code is gone from the address bar
    expect(await page.evaluate<string | null>("sessionStorage.getItem('globalmcp.credential')")).toBeNull();
    expect(await page.getByRole('navigation', { name: 'Console' }).count()).toBe(0);
    expect(await seriousViolations(page)).toEqual([]);
    await shot('oauth-wrong-state');
  }, 60_000);

  it("signs in on the provider's login and consent pages and comes back as that user, seeing the servers", async () => {
    await page.goto(`${gateway.addresses.api}/console#/executions`);
    await shot('oauth-login');
    await page.getByRole('button', { name: 'Sign in with your identity provider' }).click();

    // The provider's own pages: login (any name and password), then consent to the console's scopes
    await page.waitForURL((url) => url.origin === issuer);
    await page.locator('input[name="login"]').fill('alice');
    await page.locator('input[name="password"]').fill('wonderland');
    await page.getByRole('button', { name: 'Sign-in' }).click();
    await page.getByRole('button', { name: 'Continue' }).click();

    await page.waitForURL((url) => url.origin === new URL(gateway.addresses.api).origin);
    await page.getByRole('navigation', { name: 'Console' }).waitFor();
    // Back where the sign-in started, without the code in the address bar
    expect(new URL(page.url()).search).toBe('');
    expect(new URL(page.url()).hash).toBe('#/executions');
    const who = await page.locator('.who').innerText();
    expect(who).toContain('alice');
    expect(who).toContain('mcp:read mcp:write');

    // The token lives in this tab's sessionStorage only, and the API calls carry it as a bearer token
    const stored = JSON.parse((await page.evaluate<string>("sessionStorage.getItem('globalmcp.credential')"))!) as {
      kind: string;
      token: string;
    };
    expect(stored.kind).toBe('bearer');
    const claims = JSON.parse(Buffer.from(stored.token.split('.')[1]!, 'base64url').toString()) as Record<
      string,
      unknown
    >;
    expect(claims).toMatchObject({ iss: issuer, sub: 'alice', client_id: CLIENT_ID, scope: 'mcp:read mcp:write' });
    expect(await page.evaluate<number>('localStorage.length')).toBe(0);
    expect(await page.evaluate<string>('document.cookie')).toBe('');
    const me = apiRequests.find((r) => r.url().endsWith('/api/auth/me'))!;
    expect(me.headers().authorization).toBe(`Bearer ${stored.token}`);
    expect(me.headers()['x-api-key']).toBeUndefined();

    await page.evaluate("location.hash = '#/servers'");
    const row = page.locator('tr[data-server="everything"]');
    await row.waitFor();
    expect(await row.locator('.status').allInnerTexts()).toEqual(['active', 'UP']);
    expect(await seriousViolations(page)).toEqual([]);
    await shot('oauth-servers');
  }, 60_000);

  it('shows a token without the admin scope no admin action, but lets it call a tool', async () => {
    const nav = await page.getByRole('navigation', { name: 'Console' }).innerText();
    for (const page of ['Servers', 'Executions', 'Jobs']) expect(nav).toContain(page);
    for (const page of ['API keys', 'Webhooks', 'Health']) expect(nav).not.toContain(page);
    expect(await page.getByRole('button', { name: /Restart/ }).count()).toBe(0);
    await page.evaluate("location.hash = '#/webhooks'");
    await page.getByRole('alert').filter({ hasText: 'no page here' }).waitFor();

    // mcp:write: the form calls echo as alice, and the execution is recorded under her principal
    await page.evaluate("location.hash = '#/servers/everything'");
    const echo = page.locator('details.tool[data-tool="echo"]');
    await echo.locator('summary').first().click();
    await echo.getByLabel(/message/).fill('signed in with PKCE');
    await echo.getByRole('button', { name: 'Call', exact: true }).click();
    const body = JSON.parse(await echo.getByLabel('Result of echo').innerText()) as { execution_id: string };
    const res = await fetch(`${gateway.addresses.api}/api/executions/${body.execution_id}`, {
      headers: gateway.authHeaders,
    });
    expect(((await res.json()) as { principal: string }).principal).toBe(`oauth2:${issuer}:alice`);
  }, 60_000);

  it('signs out: the token is gone from the tab and the sign-in page is back', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('button', { name: 'Sign in with your identity provider' }).waitFor();
    expect(await page.evaluate<string | null>("sessionStorage.getItem('globalmcp.credential')")).toBeNull();
    await page.reload();
    await page.getByRole('button', { name: 'Sign in with your identity provider' }).waitFor();
    expect(await page.getByRole('navigation', { name: 'Console' }).count()).toBe(0);
  }, 60_000);

  it('signs in again through the provider session, and goes back to sign-in when the token is refused', async () => {
    await page.getByRole('button', { name: 'Sign in with your identity provider' }).click();
    // The provider remembers alice and her consent: straight back, no pages of its own this time
    await page.getByRole('navigation', { name: 'Console' }).waitFor();
    expect(await page.locator('.who').innerText()).toContain('alice');
    await page.locator('tr[data-server="everything"]').waitFor();

    // A token the gateway no longer accepts (here: its signature broken) sends the page back to sign-in
    await page.evaluate(
      `(() => { const held = JSON.parse(sessionStorage.getItem('globalmcp.credential'));
        held.token = held.token.slice(0, -4) + 'AAAA';
        sessionStorage.setItem('globalmcp.credential', JSON.stringify(held)); })()`,
    );
    await page.getByRole('button', { name: 'Refresh' }).click();
    await page.getByRole('alert').filter({ hasText: 'no longer accepts your sign-in' }).waitFor();
    expect(await page.evaluate<string | null>("sessionStorage.getItem('globalmcp.credential')")).toBeNull();
    await page.getByRole('button', { name: 'Sign in with your identity provider' }).waitFor();
    expect(pageErrors).toEqual([]);
  }, 60_000);
});
