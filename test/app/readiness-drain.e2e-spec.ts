import { request } from 'node:http';
import { ADMIN_HEADERS } from '../support/auth';
import { TOOLBOX } from '../support/paths';
import { createTestDatabase, type TestDatabase } from '../support/test-database';
import { startTestGateway, type TestGateway } from '../support/test-gateway';
import { waitFor, waitForTools } from '../support/wait';

const DRAIN_MS = 1500;

/** A request on a connection of its own (no pooled keep-alive socket): what a balancer's new connection meets. */
function freshGet(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false, headers: ADMIN_HEADERS }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.once('error', reject);
    req.end();
  });
}

describe('drain on shutdown (mcp.shutdown.drain-delay)', () => {
  let db: TestDatabase;
  let gateway: TestGateway;

  beforeAll(async () => {
    db = await createTestDatabase('drain');
    gateway = await startTestGateway({
      databaseUrl: db.url,
      yaml: `mcp:\n  shutdown:\n    drain-delay: ${DRAIN_MS}\n  servers:\n    toolbox:\n      type: stdio\n      command: node\n      args: ["${TOOLBOX}"]\n`,
    });
    await waitForTools(gateway.addresses.api, 'toolbox', ADMIN_HEADERS);
  }, 60_000);

  afterAll(async () => {
    await gateway?.stop();
    await db?.drop();
  });

  it('turns readiness down at once, keeps serving new connections for the delay, then refuses them while a call in flight finishes', async () => {
    const { api, management } = gateway.addresses;
    const inFlight = fetch(`${api}/api/tools/sleep/execute`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...ADMIN_HEADERS },
      body: JSON.stringify({ server_id: 'toolbox', parameters: { ms: DRAIN_MS + 1500 } }),
    });
    await new Promise((r) => setTimeout(r, 200));

    const started = Date.now();
    const stopping = gateway.shutdown('test');
    const readiness = await fetch(`${management}/actuator/health/readiness`);
    expect(readiness.status).toBe(503);
    expect(await readiness.json()).toMatchObject({ status: 'OUT_OF_SERVICE' });
    // Within the drain delay a new connection is still served.
    expect(await freshGet(`${api}/api/servers`)).toBe(200);
    expect(Date.now() - started).toBeLessThan(DRAIN_MS);

    // After it, the listener takes no new connection; the call in flight still gets its answer.
    await waitFor(
      () =>
        freshGet(`${api}/api/servers`).then(
          () => false,
          () => true,
        ),
      DRAIN_MS + 1000,
      'the API listener to refuse new connections',
      100,
    );
    expect(Date.now() - started).toBeGreaterThanOrEqual(DRAIN_MS);
    const response = await inFlight;
    expect(response.status).toBe(200);
    expect(((await response.json()) as { status: string }).status).toBe('completed');
    await stopping;
    // The stop ends with the last request, not at the end of timeout-per-shutdown-phase (25 s): the keep-alive
    // connection that carried it is closed once it turns idle.
    expect(Date.now() - started).toBeLessThan(10_000);
  }, 30_000);
});
