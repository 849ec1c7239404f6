import { ADMIN_HEADERS } from '../support/auth';
import { TOOLBOX } from '../support/paths';
import { createTestDatabase, type TestDatabase } from '../support/test-database';
import { startTestGateway, type TestGateway } from '../support/test-gateway';
import { waitFor } from '../support/wait';

/** Labelled counters exist at 0 for what the gateway knows, so `increase()` in the alert rules sees the first event. */
describe('counters exist from the start', () => {
  let db: TestDatabase;
  let gateway: TestGateway;

  beforeAll(async () => {
    db = await createTestDatabase('metricszero');
    gateway = await startTestGateway({
      databaseUrl: db.url,
      rateLimiting: true,
      yaml:
        `mcp:\n  security:\n    stdio:\n      allowed-commands: [node]\n    rate-limiting:\n      tiers:\n        gold:\n          requests-per-minute: 10\n          burst-capacity: 10\n` +
        `  servers:\n    zero-toolbox:\n      type: stdio\n      command: node\n      args: ["${TOOLBOX}"]\n`,
    });
  });

  afterAll(async () => {
    await gateway?.stop();
    await db?.drop();
  });

  const scrape = async () =>
    (await fetch(`${gateway.addresses.management}/actuator/prometheus`, { headers: ADMIN_HEADERS })).text();
  const series = (text: string, name: string, labels: string) =>
    new RegExp(`^${name}\\{${labels.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\} (\\S+)$`, 'm').exec(text)?.[1];

  it('has each configured server’s restarts and tool-call outcomes, and each tier’s refusals, at 0 before any event', async () => {
    await waitFor(
      async () => series(await scrape(), 'mcp_server_restarts_total', 'server="zero-toolbox"') !== undefined,
      10_000,
      'the configured server’s series',
    );
    const text = await scrape();
    expect(series(text, 'mcp_server_restarts_total', 'server="zero-toolbox"')).toBe('0');
    for (const outcome of ['success', 'tool_error', 'TIMEOUT', 'SERVER_UNAVAILABLE', 'CONNECTION_LOST']) {
      expect({
        outcome,
        value: series(
          text,
          'mcp_client_requests_total',
          `server="zero-toolbox",method="tools/call",outcome="${outcome}"`,
        ),
      }).toEqual({ outcome, value: '0' });
    }
    expect(series(text, 'rate_limit_rejections_total', 'tier="default"')).toBe('0');
    expect(series(text, 'rate_limit_rejections_total', 'tier="gold"')).toBe('0');
  });

  it('adds a server registered later at 0 when it is added', async () => {
    const res = await fetch(`${gateway.addresses.api}/api/servers`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...ADMIN_HEADERS },
      body: JSON.stringify({
        id: 'zero-later',
        type: 'stdio',
        configuration: { command: 'node', args: [TOOLBOX] },
        enabled: true,
      }),
    });
    expect(res.status).toBe(201);
    await waitFor(
      async () => series(await scrape(), 'mcp_server_restarts_total', 'server="zero-later"') === '0',
      10_000,
      'the added server’s restart series at 0',
    );
    expect(
      series(await scrape(), 'mcp_client_requests_total', 'server="zero-later",method="tools/call",outcome="success"'),
    ).toBe('0');
  });
});
