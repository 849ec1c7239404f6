import { execFileSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { TEST_ADMIN_KEY } from '../support/auth';
import { seriousViolations } from '../support/axe';
import { launchChromium, type LaunchedBrowser } from '../support/browser';
import { EVERYTHING, REPO, TOOLBOX } from '../support/paths';
import { createTestDatabase, type TestDatabase } from '../support/test-database';
import { startTestGateway, type TestGateway } from '../support/test-gateway';
import { waitFor } from '../support/wait';

const OUTPUT = path.join(REPO, 'test-output', 'console');

describe('the web console at /console (headless Chromium)', () => {
  let db: TestDatabase;
  let gateway: TestGateway;
  let launched: LaunchedBrowser | undefined;
  let context: BrowserContext;
  let page: Page;
  let readOnlyKey = '';
  const pageErrors: string[] = [];

  const shot = (name: string, tab: Page = page) =>
    tab.screenshot({ path: path.join(OUTPUT, `${name}.png`), fullPage: true });
  const go = async (hash: string, tab: Page = page) => {
    await tab.evaluate(`location.hash = ${JSON.stringify(hash)}`);
  };

  async function signIn(tab: Page, key: string): Promise<void> {
    await tab.goto(`${gateway.addresses.api}/console`);
    await tab.getByLabel('API key').fill(key);
    await tab.getByRole('button', { name: 'Sign in' }).click();
    await tab.getByRole('navigation', { name: 'Console' }).waitFor();
  }

  beforeAll(async () => {
    // The bundle npm run build makes; built here too so the test runs from source.
    execFileSync(process.execPath, [path.join(REPO, 'console', 'build.mjs')], { stdio: 'inherit' });
    db = await createTestDatabase('console');
    gateway = await startTestGateway({
      databaseUrl: db.url,
      // fragile (the toolbox fixture) exits when its crash tool is called; it is respawned after 4 s, so the test sees
      // it down, then up again.
      yaml:
        `mcp:\n  client:\n    retry:\n      max-attempts: 1\n      initial-interval: 4000\n      max-interval: 4000\n` +
        `  servers:\n    everything:\n      type: stdio\n      command: node\n      args: ["${EVERYTHING}", stdio]\n` +
        `    fragile:\n      type: stdio\n      command: node\n      args: ["${TOOLBOX}"]\n`,
    });
    await waitFor(
      async () => {
        const res = await fetch(`${gateway.addresses.api}/api/servers/everything`, { headers: gateway.authHeaders });
        return res.ok && ((await res.json()) as { status: string }).status === 'active';
      },
      30_000,
      'server-everything active',
    );
    launched = await launchChromium();
    context = await launched.browser.newContext({ viewport: { width: 1280, height: 900 } });
    page = await context.newPage();
    page.setDefaultTimeout(15_000);
    page.on('pageerror', (error) => pageErrors.push(error.message));
    mkdirSync(OUTPUT, { recursive: true });
  }, 90_000);

  afterAll(async () => {
    await launched?.close();
    await gateway?.stop();
    await db?.drop();
  });

  it('refuses a wrong key and signs in with the admin key, showing the demo server up', async () => {
    await page.goto(`${gateway.addresses.api}/console`);
    expect(new URL(page.url()).pathname).toBe('/console');
    await page.getByLabel('API key').fill('gmcp_not-a-key');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: 'not accepted' }).waitFor();
    expect(await seriousViolations(page)).toEqual([]);
    await shot('login');

    await signIn(page, TEST_ADMIN_KEY);
    const row = page.locator('tr[data-server="everything"]');
    await row.waitFor();
    expect(await row.locator('.status').allInnerTexts()).toEqual(['active', 'UP']);
    const cells = await row.locator('td').allInnerTexts();
    expect(cells[2]).toBe('stdio');
    expect(Number(cells[3])).toBeGreaterThan(5); // tools
    expect(cells[4]).toBe('0'); // restarts
    expect(await row.getByRole('button', { name: /Restart/ }).count()).toBe(1);
    expect(await seriousViolations(page)).toEqual([]);
    await shot('servers');
  }, 60_000);

  it('calls echo from the form generated from its input schema and shows the result', async () => {
    await page.locator('tr[data-server="everything"] th a').click();
    const echo = page.locator('details.tool[data-tool="echo"]');
    await echo.locator('summary').first().click();
    await echo.getByLabel(/message/).fill('hello from the console');
    await echo.getByRole('button', { name: 'Call', exact: true }).click();
    const result = echo.getByLabel('Result of echo');
    await result.waitFor();
    const body = JSON.parse(await result.innerText()) as { status: string; result: { content: { text: string }[] } };
    expect(body.status).toBe('completed');
    expect(body.result.content[0]!.text).toBe('Echo: hello from the console');
    expect(await seriousViolations(page)).toEqual([]);
    await shot('server-tools');
  }, 60_000);

  it('shows a crashed upstream down with its last error, then up again after its restart', async () => {
    await go('#/servers/fragile');
    const crash = page.locator('details.tool[data-tool="crash"]');
    await crash.locator('summary').first().click();
    await crash.getByRole('button', { name: 'Call', exact: true }).click();
    await crash.getByRole('alert').waitFor(); // the error envelope of the failed call

    await go('#/servers');
    const row = page.locator('tr[data-server="fragile"]');
    const state = async () => {
      await page.getByRole('button', { name: 'Refresh' }).click();
      const cells = await row.locator('td').allInnerTexts();
      return { status: cells[0]!.trim(), restarts: Number(cells[4]), lastError: cells[5]!.trim() };
    };
    let down = await state();
    await waitFor(async () => (down = await state()).status !== 'active', 4_000, 'fragile marked down');
    expect(down.lastError).toContain('process exited');
    await shot('server-down');

    let up = down;
    await waitFor(async () => (up = await state()).status === 'active', 20_000, 'fragile back up');
    expect(up.restarts).toBeGreaterThanOrEqual(1);
    expect(up.lastError).toContain('process exited'); // kept, with its time, after the server is back
    await shot('server-back-up');
  }, 60_000);

  /** Starts server-everything's long-running operation as a job from its form; the job page opens. */
  async function startLongRunning(duration: number, steps: number): Promise<string> {
    await go('#/servers/everything');
    const tool = page.locator('details.tool[data-tool="trigger-long-running-operation"]');
    await tool.locator('summary').first().click();
    await tool.getByLabel(/duration/).fill(String(duration));
    await tool.getByLabel(/steps/).fill(String(steps));
    await tool.getByRole('button', { name: 'Start as job' }).click();
    await page.waitForURL(/#\/jobs\/[0-9a-f-]{36}$/);
    return page.url().split('/').pop()!;
  }

  it('starts the long-running operation as a job and follows its progress to the end', async () => {
    const id = await startLongRunning(3, 3);
    const progress = page.locator('#job-progress');
    // Each step's progress arrives over the event stream while the job runs
    const seen = new Set<string>();
    await waitFor(
      async () => {
        seen.add((await progress.getAttribute('value')) ?? '');
        return (await page.locator('.status').first().innerText()) === 'completed';
      },
      20_000,
      'the job completed',
      50,
    );
    expect([...seen].some((v) => v === '1' || v === '2')).toBe(true);
    expect(await page.getByText('Progress: 3 of 3 (100%)').count()).toBe(1);
    const outcome = JSON.parse(await page.getByLabel('Outcome').innerText()) as {
      execution_id: string;
      status: string;
    };
    expect(outcome).toMatchObject({ execution_id: id, status: 'completed' });
    expect(await page.getByRole('button', { name: 'Cancel job' }).count()).toBe(0);
    expect(await seriousViolations(page)).toEqual([]);
    await shot('job-completed');
  }, 60_000);

  it('cancels another job while it runs', async () => {
    const id = await startLongRunning(30, 30);
    await waitFor(
      async () => Number(await page.locator('#job-progress').getAttribute('value')) >= 1,
      15_000,
      'first step',
    );
    await shot('job-running');
    await page.getByRole('button', { name: 'Cancel job' }).click();
    await page.locator('.status', { hasText: 'cancelled' }).first().waitFor();
    const record = (await (
      await fetch(`${gateway.addresses.api}/api/executions/${id}`, { headers: gateway.authHeaders })
    ).json()) as { status: string };
    expect(record.status).toBe('cancelled');
  }, 60_000);

  it('lists executions filtered by tool and opens one: arguments, result, timing', async () => {
    await go('#/executions');
    await page.getByLabel('Tool').fill('echo');
    await page.getByRole('button', { name: 'Filter' }).click();
    await waitFor(
      () =>
        page.evaluate<boolean>(
          "[...document.querySelectorAll('tbody td.mono')].every((td) => td.textContent === 'echo')",
        ),
      10_000,
      'only echo listed',
    );
    const rows = page.locator('tbody tr');
    await rows.first().waitFor();
    expect(await rows.count()).toBe(1);
    await shot('executions');
    await rows.first().locator('a').click();
    const args = page.getByLabel('Arguments');
    await args.waitFor();
    expect(JSON.parse(await args.innerText())).toEqual({ message: 'hello from the console' });
    expect(await page.getByLabel('Result').innerText()).toContain('Echo: hello from the console');
    expect(await page.locator('dl.facts').innerText()).toMatch(/Duration\s+[\d.]+ ms/);
    expect(await seriousViolations(page)).toEqual([]);
    await shot('execution');
  }, 60_000);

  it('filters executions by caller, from the form or from a caller in the list', async () => {
    const made = (await (
      await fetch(`${gateway.addresses.api}/api/api-keys`, {
        method: 'POST',
        headers: { ...gateway.authHeaders, 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'console-caller', scopes: ['mcp:read', 'mcp:write'] }),
      })
    ).json()) as { id: string; key: string };
    const called = await fetch(`${gateway.addresses.api}/api/servers/everything/tools/echo`, {
      method: 'POST',
      headers: { 'X-API-Key': made.key, 'content-type': 'application/json' },
      body: JSON.stringify({ message: 'from another caller' }),
    });
    expect(called.status).toBe(200);
    const caller = `key:${made.id}`;
    const callers = () =>
      page.evaluate<string[]>("[...document.querySelectorAll('tbody tr td:nth-child(5)')].map((td) => td.innerText)");

    await go('#/executions');
    await page.getByLabel('Tool').fill('');
    await page.getByLabel('Caller').fill(caller);
    await page.getByRole('button', { name: 'Filter' }).click();
    await waitFor(async () => (await callers()).join() === caller, 10_000, 'only the other caller listed');
    await shot('executions-by-caller');

    await page.getByLabel('Caller').fill('');
    await page.getByRole('button', { name: 'Filter' }).click();
    await waitFor(async () => new Set(await callers()).size > 1, 10_000, 'every caller listed');
    await page.getByRole('button', { name: `Only calls by ${caller}` }).click();
    await waitFor(async () => (await callers()).join() === caller, 10_000, 'narrowed to the clicked caller');
    expect(await page.getByLabel('Caller').inputValue()).toBe(caller);
    expect(await seriousViolations(page)).toEqual([]);
  }, 60_000);

  it('creates a key shown once, and revokes another', async () => {
    await go('#/keys');
    const create = async (name: string, scopes: string[]) => {
      await page.getByLabel('Name').fill(name);
      for (const scope of ['mcp:read', 'mcp:write', 'mcp:admin'])
        await page.getByLabel(scope, { exact: true }).setChecked(scopes.includes(scope));
      await page.getByRole('button', { name: 'Create key' }).click();
      const shown = page.getByLabel('New API key');
      await shown.waitFor();
      const key = await shown.inputValue();
      expect(key).toMatch(/^gmcp_/);
      await page.locator(`tr[data-key="${name}"]`).waitFor();
      return key;
    };
    readOnlyKey = await create('console-viewer', ['mcp:read']);
    expect(await page.locator('tr[data-key="console-viewer"] td').nth(1).innerText()).toBe('mcp:read');
    expect(await seriousViolations(page)).toEqual([]);
    await shot('keys-created');
    await page.getByRole('button', { name: 'I have copied it' }).click();
    // Gone from the page once dismissed; the list shows only its prefix
    expect(await page.content()).not.toContain(readOnlyKey);
    await go('#/servers');
    await go('#/keys');
    await page.locator('tr[data-key="console-viewer"]').waitFor();
    expect(await page.content()).not.toContain(readOnlyKey);

    const doomed = await create('console-doomed', ['mcp:read', 'mcp:write']);
    await page.getByRole('button', { name: 'I have copied it' }).click();
    const row = page.locator('tr[data-key="console-doomed"]');
    await row.getByRole('button', { name: 'Revoke console-doomed' }).click();
    await row.getByRole('button', { name: 'Confirm revoking console-doomed' }).click();
    await row.locator('.status', { hasText: 'revoked' }).waitFor();
    await shot('keys-revoked');
    const refused = await fetch(`${gateway.addresses.api}/api/auth/me`, { headers: { 'X-API-Key': doomed } });
    expect(refused.status).toBe(401);
  }, 60_000);

  it('adds a webhook whose secret is shown once, lists its deliveries, and deletes it', async () => {
    const received: { headers: IncomingHttpHeaders; body: string }[] = [];
    const receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        received.push({ headers: req.headers, body });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
    try {
      await go('#/webhooks');
      await page.getByLabel('Receiver URL').fill(url);
      await page.getByLabel('tool.executed').setChecked(true);
      await page.getByLabel('tool.failed').setChecked(false);
      await page.getByRole('button', { name: 'Add webhook' }).click();
      const shown = page.getByLabel('Signing secret');
      await shown.waitFor();
      const secret = await shown.inputValue();
      expect(secret).toMatch(/^whsec_[\w-]{40,}$/);
      const row = page.locator(`tr[data-webhook="${url}"]`);
      await row.waitFor();
      expect(await row.locator('td').first().innerText()).toBe('tool.executed');
      expect(await seriousViolations(page)).toEqual([]);
      await shot('webhooks-created');
      await page.getByRole('button', { name: 'I have copied it' }).click();
      expect(await page.content()).not.toContain(secret);
      // Nothing the API answers carries it either
      const listed = await (
        await fetch(`${gateway.addresses.api}/api/webhooks`, { headers: gateway.authHeaders })
      ).text();
      expect(listed).not.toContain(secret);

      // A call makes a delivery, signed with the secret the page showed
      await fetch(`${gateway.addresses.api}/api/servers/everything/tools/echo`, {
        method: 'POST',
        headers: { ...gateway.authHeaders, 'content-type': 'application/json' },
        body: JSON.stringify({ message: 'to the webhook' }),
      });
      await waitFor(() => received.length > 0, 15_000, 'a delivery at the receiver');
      const delivery = received[0]!;
      const timestamp = String(delivery.headers['x-globalmcp-timestamp']);
      const expected = createHmac('sha256', secret).update(`${timestamp}.${delivery.body}`).digest('hex');
      expect(delivery.headers['x-globalmcp-signature']).toBe(`sha256=${expected}`);

      await row.getByRole('link', { name: `Deliveries of ${url}` }).click();
      const deliveryRow = page.locator(`tr[data-delivery="${String(delivery.headers['x-globalmcp-delivery'])}"]`);
      await waitFor(
        async () => {
          await page.getByRole('button', { name: 'Refresh' }).click();
          return (await deliveryRow.locator('.status').innerText()) === 'delivered';
        },
        10_000,
        'the delivery listed as delivered',
      );
      expect(await deliveryRow.locator('td').nth(1).innerText()).toBe('1'); // attempts
      expect(await deliveryRow.locator('td').nth(2).innerText()).toBe('HTTP 204');
      await deliveryRow.locator('summary').click();
      expect(await deliveryRow.getByRole('list').innerText()).toMatch(/delivered HTTP 204/);
      expect(await page.content()).not.toContain(secret);
      expect(await seriousViolations(page)).toEqual([]);
      await shot('webhook-deliveries');

      await go('#/webhooks');
      await row.getByRole('button', { name: `Delete ${url}` }).click();
      await row.getByRole('button', { name: `Confirm deleting ${url}` }).click();
      await waitFor(async () => (await row.count()) === 0, 10_000, 'the webhook gone from the list');
      const gone = await fetch(`${gateway.addresses.api}/api/webhooks`, { headers: gateway.authHeaders });
      expect(((await gone.json()) as { webhooks: unknown[] }).webhooks).toEqual([]);
    } finally {
      receiver.closeAllConnections();
      await new Promise((resolve) => receiver.close(resolve));
    }
  }, 60_000);

  it('shows the admin the health and the upstream metrics', async () => {
    await go('#/health');
    await page.locator('dl.facts').waitFor();
    expect(await page.locator('dl.facts').innerText()).toMatch(/Database\s+UP/);
    const row = page.locator('tbody tr', { hasText: 'everything' });
    await row.waitFor();
    expect(Number((await row.locator('td').allInnerTexts())[0])).toBeGreaterThanOrEqual(3); // calls so far
    expect(await seriousViolations(page)).toEqual([]);
    await shot('health');
  }, 60_000);

  it('shows a read-only key no admin and no write action', async () => {
    const viewer = await launched!.browser.newContext({ viewport: { width: 1280, height: 900 } });
    const tab = await viewer.newPage();
    tab.setDefaultTimeout(15_000);
    try {
      await signIn(tab, readOnlyKey);
      const nav = await tab.getByRole('navigation', { name: 'Console' }).innerText();
      expect(nav).toContain('Servers');
      expect(nav).not.toContain('API keys');
      expect(nav).not.toContain('Health');
      expect(nav).not.toContain('Webhooks');
      await tab.locator('tr[data-server="everything"]').waitFor();
      expect(await tab.getByRole('button', { name: /Restart/ }).count()).toBe(0);
      expect(await tab.getByRole('columnheader', { name: 'Actions' }).count()).toBe(0);
      await shot('read-only-servers', tab);

      await go('#/servers/everything', tab);
      const echo = tab.locator('details.tool[data-tool="echo"]');
      await echo.locator('summary').first().click();
      await echo.getByText('Calling tools needs the mcp:write scope.').waitFor();
      expect(await echo.getByRole('button', { name: 'Call', exact: true }).count()).toBe(0);

      await go('#/keys', tab);
      await tab.getByRole('alert').filter({ hasText: 'no page here' }).waitFor();
      expect(await tab.locator('table').count()).toBe(0);
    } finally {
      await viewer.close();
    }
  }, 60_000);

  it('can be used from the keyboard alone, with the focus visible', async () => {
    const keyboard = await launched!.browser.newContext({ viewport: { width: 1280, height: 900 } });
    const tab = await keyboard.newPage();
    tab.setDefaultTimeout(15_000);
    const focused = () =>
      tab.evaluate<string>("(document.activeElement.textContent || document.activeElement.id || '').trim()");
    const tabTo = async (text: RegExp) => {
      for (let i = 0; i < 40 && !text.test(await focused()); i++) await tab.keyboard.press('Tab');
      expect(await focused()).toMatch(text);
    };
    try {
      await tab.goto(`${gateway.addresses.api}/console`);
      await tab.getByLabel('API key').waitFor();
      await tab.keyboard.press('Tab');
      expect(await focused()).toBe('api-key');
      await tab.keyboard.type(TEST_ADMIN_KEY);
      await tab.keyboard.press('Enter');
      await tab.getByRole('navigation', { name: 'Console' }).waitFor();

      await tabTo(/^Webhooks$/);
      expect(await tab.evaluate<string>('getComputedStyle(document.activeElement).outlineStyle')).toBe('solid');
      await tab.keyboard.press('Enter');
      await tab.waitForURL(/#\/webhooks$/);

      // A tool's form: open it, fill it and call, all from the keyboard
      await tab.evaluate("location.hash = '#/servers/everything'");
      await tab.locator('details.tool[data-tool="echo"]').waitFor();
      await tabTo(/^echo\b/);
      await tab.keyboard.press('Enter');
      await tabTo(/^Input schema$/);
      await tab.keyboard.press('Tab'); // the first field of the form: message
      await tab.keyboard.type('typed, not clicked');
      await tabTo(/^Call$/);
      await tab.keyboard.press('Enter');
      const result = tab.locator('details.tool[data-tool="echo"]').getByLabel('Result of echo');
      await result.waitFor();
      expect(await result.innerText()).toContain('Echo: typed, not clicked');
    } finally {
      await keyboard.close();
    }
  }, 60_000);

  it('fits a phone-width screen', async () => {
    const phone = await launched!.browser.newContext({
      viewport: { width: 390, height: 844 },
      isMobile: true,
      hasTouch: true,
    });
    const tab = await phone.newPage();
    tab.setDefaultTimeout(15_000);
    try {
      await signIn(tab, TEST_ADMIN_KEY);
      await tab.locator('tr[data-server="everything"]').waitFor();
      // Nothing but the servers table (which scrolls in its own box) is wider than the screen
      const overflow = await tab.evaluate<number>('document.documentElement.scrollWidth');
      expect(overflow).toBeLessThanOrEqual(390);
      await shot('phone-servers', tab);
      await go('#/servers/everything', tab);
      const echo = tab.locator('details.tool[data-tool="echo"]');
      await echo.locator('summary').first().click();
      expect(await tab.evaluate<number>('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390);
      await shot('phone-tool', tab);
      for (const [hash, ready] of [
        ['#/executions', 'tbody tr'],
        ['#/jobs', 'h2'],
        ['#/keys', 'tr[data-key="console-viewer"]'],
        ['#/webhooks', 'h2'],
        ['#/health', 'dl.facts'],
      ] as const) {
        await go(hash, tab);
        await tab.locator(ready).first().waitFor();
        expect(await tab.evaluate<number>('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390);
        await shot(`phone-${hash.slice(2)}`, tab);
      }
    } finally {
      await phone.close();
    }
    expect(pageErrors).toEqual([]);
  }, 60_000);
});
