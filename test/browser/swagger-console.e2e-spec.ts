import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { ERROR_STATUS, type ErrorCode } from 'src/common/errors/error-code';
import { TEST_ADMIN_KEY } from '../support/auth';
import { launchChromium, type LaunchedBrowser } from '../support/browser';
import { signHs256 } from '../security/test-issuer';
import { EVERYTHING, REPO } from '../support/paths';
import { createTestDatabase, type TestDatabase } from '../support/test-database';
import { startTestGateway, type TestGateway } from '../support/test-gateway';
import { waitFor } from '../support/wait';

const OUTPUT = path.join(REPO, 'test-output');
const JWT_SECRET = 'a-browser-test-hs256-secret-longer-than-32-bytes';

describe('Swagger UI as a console for the tools (headless Chromium)', () => {
  let db: TestDatabase;
  let gateway: TestGateway;
  let launched: LaunchedBrowser | undefined;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    db = await createTestDatabase('browser');
    gateway = await startTestGateway({
      databaseUrl: db.url,
      yaml: `mcp:\n  security:\n    jwt:\n      secret: ${JWT_SECRET}\n  servers:\n    everything:\n      type: stdio\n      command: node\n      args: ["${EVERYTHING}", stdio]\n`,
    });
    await waitFor(
      async () => {
        const res = await fetch(`${gateway.addresses.api}/v3/api-docs`, { headers: { 'X-API-Key': TEST_ADMIN_KEY } });
        const doc = (await res.json()) as { paths: object };
        return '/api/servers/everything/tools/echo' in doc.paths;
      },
      30_000,
      "server-everything's tools in the document",
    );
    launched = await launchChromium();
    browser = launched.browser;
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.setDefaultTimeout(15_000);
    mkdirSync(OUTPUT, { recursive: true });
  }, 90_000);

  afterAll(async () => {
    await launched?.close();
    await gateway?.stop();
    await db?.drop();
  });

  it('authorizes with an API key, tries out the echo tool with the generated example body, and gets 200', async () => {
    await page.goto(`${gateway.addresses.api}/docs`);
    const operation = page.locator('.opblock', {
      has: page.locator('[data-path="/api/servers/everything/tools/echo"]'),
    });
    // Without a credential the page shows the generic routes, not the tools (mcp.openapi.anonymous-tools is off),
    // and says at its top that the tools appear once a credential is given
    await page.locator('[data-path="/api/servers/{id}/tools/{tool}"]').first().waitFor();
    expect(await operation.count()).toBe(0);
    const hint = page.locator('.information-container', { hasText: 'Where are the tools?' });
    expect(await hint.innerText()).toContain('press Authorize');

    // Authorize: the API-key scheme of the document; the document is fetched again with the key. No OAuth2 issuer is
    // configured, so there is no OAuth2 box to fill in.
    await page.locator('button.authorize').first().click();
    await page.locator('.auth-container', { hasText: 'api_key' }).waitFor();
    expect(await page.locator('.auth-container', { hasText: 'oauth2' }).count()).toBe(0);
    const apiKey = page.locator('.auth-container', { hasText: 'api_key' });
    await apiKey.locator('input').fill(TEST_ADMIN_KEY);
    await apiKey.locator('button.authorize').click();
    await apiKey.locator('button', { hasText: 'Logout' }).waitFor();
    await page.locator('.auth-btn-wrapper button.btn-done, button.btn-done').first().click();
    await operation.waitFor();
    expect(await page.locator('.opblock-tag', { hasText: 'Tools: everything' }).count()).toBe(1);
    expect(await page.locator('.information-container', { hasText: 'Where are the tools?' }).count()).toBe(0);

    // Open the tool's operation: each error response shows an example of its own code
    await operation.locator('.opblock-summary').first().click();
    const tooMany = await operation.locator('tr.response[data-code="429"]').innerText();
    expect(tooMany).toContain('RATE_LIMIT_EXCEEDED');
    expect(tooMany).not.toContain('Server github not found');
    const serverError = await operation.locator('tr.response[data-code="500"] .response-col_description').innerText();
    expect(serverError).toContain('SERVER_ERROR: An unexpected error');
    expect(serverError).not.toContain('SERVER_ERROR SERVER_ERROR');

    // Try it out with the example body Swagger UI generates from its schema
    await operation.locator('button.try-out__btn').click();
    const body = operation.locator('textarea.body-param__text');
    await body.waitFor();
    // the body is the tool's arguments, generated from its input schema
    const example = JSON.parse(await body.inputValue()) as { message: unknown };
    expect(example).toEqual({ message: 'string' });

    await operation.locator('button.execute').click();
    const status = operation.locator('.live-responses-table .response .response-col_status').first();
    await status.waitFor();
    await status.scrollIntoViewIfNeeded();
    await page.screenshot({ path: path.join(OUTPUT, 'swagger-console-echo.png'), fullPage: false });
    expect((await status.innerText()).trim()).toBe('200');
    const answer = await operation.locator('.live-responses-table .response-col_description pre').first().innerText();
    const parsed = JSON.parse(answer) as { status: string; result: { content: { text: string }[] } };
    expect(parsed.status).toBe('completed');
    expect(parsed.result.content[0]!.text).toContain(`Echo: ${String(example.message)}`);
  }, 60_000);

  it('authorizes with a bearer token and runs a tool with typed numeric arguments (get-sum)', async () => {
    const token = await signHs256(JWT_SECRET, { scope: 'mcp:read mcp:write' }, { subject: 'console-user' });
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const tab = await context.newPage();
    tab.setDefaultTimeout(15_000);
    try {
      await tab.goto(`${gateway.addresses.api}/docs`);
      const operation = tab.locator('.opblock', {
        has: tab.locator('[data-path="/api/servers/everything/tools/get-sum"]'),
      });
      await tab.locator('[data-path="/api/servers/{id}/tools/{tool}"]').first().waitFor();
      await tab.locator('button.authorize').first().click();
      const bearer = tab.locator('.auth-container', { hasText: 'bearer' }).first();
      await bearer.locator('input').fill(token);
      await bearer.locator('button.authorize').click();
      await bearer.locator('button', { hasText: 'Logout' }).waitFor();
      await tab.locator('button.btn-done').first().click();
      await operation.waitFor();

      await operation.locator('.opblock-summary').first().click();
      await operation.locator('button.try-out__btn').click();
      const body = operation.locator('textarea.body-param__text');
      expect(JSON.parse(await body.inputValue())).toEqual({ a: 0, b: 0 });
      await body.fill(JSON.stringify({ a: 19, b: 23 }));
      await operation.locator('button.execute').click();
      const status = operation.locator('.live-responses-table .response .response-col_status').first();
      await status.waitFor();
      await status.scrollIntoViewIfNeeded();
      await tab.screenshot({ path: path.join(OUTPUT, 'swagger-console-get-sum-bearer.png') });
      expect((await status.innerText()).trim()).toBe('200');
      const answer = await operation.locator('.live-responses-table .response-col_description pre').first().innerText();
      expect((JSON.parse(answer) as { result: { content: { text: string }[] } }).result.content[0]!.text).toContain(
        '42',
      );
    } finally {
      await context.close();
    }
  }, 60_000);

  it('gives every error response of the document an example of its own code', async () => {
    type Media = { schema?: { $ref?: string }; example?: { error?: { code?: string } } };
    type Response = { content?: Record<string, Media> };
    const res = await fetch(`${gateway.addresses.api}/v3/api-docs`, { headers: { 'X-API-Key': TEST_ADMIN_KEY } });
    const doc = (await res.json()) as {
      paths: Record<string, Record<string, { responses?: Record<string, Response> }>>;
    };
    const wrong: string[] = [];
    let checked = 0;
    for (const [route, item] of Object.entries(doc.paths)) {
      for (const [method, operation] of Object.entries(item)) {
        for (const [status, response] of Object.entries(operation.responses ?? {})) {
          // The error envelope, whatever the operation's media type (event streams answer errors in JSON too);
          // other bodies (the health report's 503) are not errors of the API.
          for (const [type, media] of Object.entries(response.content ?? {})) {
            if (!media.schema?.$ref?.endsWith('/ErrorEnvelopeDto')) continue;
            const code = media.example?.error?.code;
            checked++;
            if (code === undefined || Number(ERROR_STATUS[code as ErrorCode]) !== Number(status))
              wrong.push(`${method} ${route} ${status} ${type}: ${String(code)}`);
          }
        }
      }
    }
    expect(wrong).toEqual([]);
    expect(checked).toBeGreaterThan(100);
  });
});
