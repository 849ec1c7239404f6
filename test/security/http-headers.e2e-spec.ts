import { chromium, type Browser } from 'playwright-core';
import { ADMIN_HEADERS } from '../support/auth';
import { createTestDatabase, type TestDatabase } from '../support/test-database';
import { startTestGateway, type TestGateway } from '../support/test-gateway';

const CHROMIUM = '/usr/bin/chromium';
const ALLOWED = 'https://console.example.com';
const OTHER = 'https://evil.example.net';

const preflight = (base: string, origin: string) =>
  fetch(`${base}/api/servers`, {
    method: 'OPTIONS',
    headers: { origin, 'access-control-request-method': 'GET', 'access-control-request-headers': 'x-api-key' },
  });

function expectHelmetHeaders(headers: Headers): void {
  expect(headers.get('content-security-policy')).toContain("default-src 'self'");
  expect(headers.get('content-security-policy')).toContain("script-src 'self'");
  expect(headers.get('x-content-type-options')).toBe('nosniff');
  expect(headers.get('x-frame-options')).toBe('SAMEORIGIN');
  expect(headers.get('strict-transport-security')).toMatch(/max-age=\d+/);
  expect(headers.get('referrer-policy')).toBe('no-referrer');
  expect(headers.get('cross-origin-opener-policy')).toBe('same-origin');
  expect(headers.get('x-powered-by')).toBeNull();
}

describe('HTTP security headers and CORS on the API port', () => {
  describe('default configuration (CORS closed)', () => {
    let db: TestDatabase;
    let gateway: TestGateway;
    let browser: Browser | undefined;

    beforeAll(async () => {
      db = await createTestDatabase('security_headers');
      gateway = await startTestGateway({ databaseUrl: db.url });
    }, 60_000);

    afterAll(async () => {
      await browser?.close();
      await gateway?.stop();
      await db?.drop();
    });

    it('sends the helmet headers on successes, errors and the OpenAPI document', async () => {
      const ok = await fetch(`${gateway.addresses.api}/api/servers`, { headers: ADMIN_HEADERS });
      expect(ok.status).toBe(200);
      expectHelmetHeaders(ok.headers);
      expect(ok.headers.get('cross-origin-resource-policy')).toBe('same-origin');
      const refused = await fetch(`${gateway.addresses.api}/api/servers`);
      expect(refused.status).toBe(401);
      expectHelmetHeaders(refused.headers);
      const missing = await fetch(`${gateway.addresses.api}/api/no-such-route`, { headers: ADMIN_HEADERS });
      expect(missing.status).toBe(404);
      expectHelmetHeaders(missing.headers);
      const document = await fetch(`${gateway.addresses.api}/v3/api-docs`);
      expect(document.status).toBe(200);
      expectHelmetHeaders(document.headers);
    });

    it('sends them on the MCP endpoint too, whose replies are written by the SDK transport', async () => {
      const initialize = await fetch(`${gateway.addresses.api}/mcp`, {
        method: 'POST',
        headers: {
          ...ADMIN_HEADERS,
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
        },
        body: JSON.stringify({
          jsonrpc: '2.0',
          id: 1,
          method: 'initialize',
          params: {
            protocolVersion: '2025-06-18',
            capabilities: {},
            clientInfo: { name: 'headers-test', version: '1' },
          },
        }),
      });
      expect(initialize.status).toBe(200);
      expect(await initialize.text()).toContain('"serverInfo"');
      expectHelmetHeaders(initialize.headers);
    });

    it('answers no cross-origin request: no Access-Control-Allow-Origin for any origin', async () => {
      for (const origin of [ALLOWED, OTHER]) {
        const answer = await preflight(gateway.addresses.api, origin);
        expect(answer.status).toBeGreaterThanOrEqual(400);
        expect(answer.status).toBeLessThan(500);
        expect(answer.headers.get('access-control-allow-origin')).toBeNull();
        const body = (await answer.json()) as { error?: { code?: string } };
        expect(body.error?.code).toEqual(expect.any(String));
        const get = await fetch(`${gateway.addresses.api}/api/servers`, { headers: { ...ADMIN_HEADERS, origin } });
        expect(get.headers.get('access-control-allow-origin')).toBeNull();
      }
    });

    it('serves Swagger UI under the CSP: its scripts load and it renders the operations', async () => {
      const html = await fetch(`${gateway.addresses.api}/docs`);
      expect(html.status).toBe(200);
      expect(html.headers.get('content-security-policy')).toContain("script-src 'self'");
      // Plain HTTP: the browser must not be told to fetch the scripts over https.
      expect(html.headers.get('content-security-policy')).not.toContain('upgrade-insecure-requests');
      // Plain HTTP: the browser must not be told to fetch the scripts over https.

      browser = await chromium.launch({
        executablePath: CHROMIUM,
        args: [
          '--no-sandbox',
          '--disable-gpu',
          '--disable-dev-shm-usage',
          '--disable-background-networking',
          // A host name that is not loopback to the browser: CSP upgrade-insecure-requests would apply to it.
          '--host-resolver-rules=MAP docs.gateway.test 127.0.0.1',
        ],
      });
      const page = await browser.newPage();
      const problems: string[] = [];
      page.on('console', (message) => {
        if (message.type() === 'error') problems.push(message.text());
      });
      page.on('pageerror', (error) => problems.push(error.message));
      const scripts: Array<{ url: string; status: number }> = [];
      page.on('response', (response) => {
        if (response.url().endsWith('.js')) scripts.push({ url: response.url(), status: response.status() });
      });
      const port = new URL(gateway.addresses.api).port;
      // Spring's address of the UI redirects to it.
      await page.goto(`http://docs.gateway.test:${port}/swagger-ui.html`);
      expect(new URL(page.url()).pathname).toBe('/docs');
      // Rendered by swagger-ui-bundle.js from the document: the operations of the API keys controller.
      await page.locator('.opblock').first().waitFor({ timeout: 20_000 });
      expect(await page.locator('.opblock').count()).toBeGreaterThan(5);
      expect(await page.locator('.opblock-summary-path', { hasText: '/api/api-keys' }).count()).toBeGreaterThan(0);
      expect(await page.evaluate(() => typeof (globalThis as { ui?: unknown }).ui)).toBe('object');
      expect(scripts.map((s) => s.url.split('/').pop())).toEqual(
        expect.arrayContaining(['swagger-ui-bundle.js', 'swagger-ui-standalone-preset.js', 'swagger-ui-init.js']),
      );
      expect(scripts.every((s) => s.status === 200)).toBe(true);

      // "Try it out" under the CSP (connect-src 'self'): authorize with the API key, call GET /api/servers.
      await page.evaluate((key) => {
        (globalThis as { ui?: { preauthorizeApiKey(name: string, value: string): void } }).ui!.preauthorizeApiKey(
          'api_key',
          key,
        );
      }, gateway.adminKey);
      const operation = page.locator('.opblock-get', {
        has: page.locator('.opblock-summary-path[data-path="/api/servers"]'),
      });
      await operation.locator('.opblock-summary').first().click();
      await operation.locator('.try-out__btn').click();
      const answered = page.waitForResponse((r) => new URL(r.url()).pathname === '/api/servers');
      await operation.locator('.execute').click();
      expect((await answered).status()).toBe(200);
      await operation.locator('.live-responses-table .response-col_status', { hasText: '200' }).first().waitFor();
      expect(problems.filter((p) => /Content Security Policy|Refused to/i.test(p))).toEqual([]);
      // Chromium's note that COOP means nothing on plain HTTP is not a failure of the page.
      expect(problems.filter((p) => !p.includes('Cross-Origin-Opener-Policy header has been ignored'))).toEqual([]);
    }, 60_000);
  });

  describe('mcp.security.cors.allowed-origins set', () => {
    let db: TestDatabase;
    let gateway: TestGateway;

    beforeAll(async () => {
      db = await createTestDatabase('security_cors');
      gateway = await startTestGateway({
        databaseUrl: db.url,
        yaml: `mcp:\n  security:\n    cors:\n      allowed-origins:\n        - ${ALLOWED}\n`,
      });
    }, 60_000);

    afterAll(async () => {
      await gateway?.stop();
      await db?.drop();
    });

    it('allows the preflight of a listed origin, with the API-key header', async () => {
      const answer = await preflight(gateway.addresses.api, ALLOWED);
      expect(answer.status).toBe(204);
      expect(answer.headers.get('access-control-allow-origin')).toBe(ALLOWED);
      expect(answer.headers.get('access-control-allow-methods')).toContain('GET');
      expect(answer.headers.get('access-control-allow-headers')?.toLowerCase()).toContain('x-api-key');
      // the options of POST /api/servers/{id}/tools/{tool}, which are headers (its body is the tool's arguments)
      expect(answer.headers.get('access-control-allow-headers')?.toLowerCase()).toContain('idempotency-key');
      expect(answer.headers.get('access-control-allow-headers')?.toLowerCase()).toContain('prefer');
      expect(answer.headers.get('access-control-allow-credentials')).toBeNull();
      expect(answer.headers.get('vary')?.toLowerCase()).toContain('origin');
    });

    it('refuses the preflight of any other origin (no Access-Control-Allow-Origin)', async () => {
      const answer = await preflight(gateway.addresses.api, OTHER);
      expect(answer.headers.get('access-control-allow-origin')).toBeNull();
      const get = await fetch(`${gateway.addresses.api}/api/servers`, { headers: { ...ADMIN_HEADERS, origin: OTHER } });
      expect(get.headers.get('access-control-allow-origin')).toBeNull();
    });

    it('lets an allowed page read the answer and the request-id and rate-limit headers, errors included', async () => {
      const get = await fetch(`${gateway.addresses.api}/api/servers`, {
        headers: { ...ADMIN_HEADERS, origin: ALLOWED },
      });
      expect(get.status).toBe(200);
      expect(get.headers.get('access-control-allow-origin')).toBe(ALLOWED);
      expect(get.headers.get('access-control-expose-headers')).toContain('X-Request-Id');
      expect(get.headers.get('access-control-expose-headers')).toContain('X-RateLimit-Remaining');
      expect(get.headers.get('cross-origin-resource-policy')).toBe('cross-origin');
      expectHelmetHeaders(get.headers);
      const refused = await fetch(`${gateway.addresses.api}/api/servers`, { headers: { origin: ALLOWED } });
      expect(refused.status).toBe(401);
      expect(refused.headers.get('access-control-allow-origin')).toBe(ALLOWED);
    });
  });
});
