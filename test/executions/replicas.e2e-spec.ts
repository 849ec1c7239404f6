import path from 'node:path';
import { ADMIN_HEADERS } from '../support/auth';
import { createTestDatabase, type TestDatabase } from '../support/test-database';
import { startTestGateway, type TestGateway } from '../support/test-gateway';

const RECORDER = path.resolve(__dirname, '..', '..', 'test/fixtures/servers/cancel-recorder-server.js');
const YAML = `mcp:\n  servers:\n    recorder:\n      type: stdio\n      command: node\n      args: ["${RECORDER}"]\n`;

async function upstreamCalls(gateway: TestGateway): Promise<number> {
  const text = await (await fetch(`${gateway.addresses.metrics}/actuator/prometheus`)).text();
  const pattern = /mcp_client_requests_total\{server="recorder",method="tools\/call",outcome="[^"]+"\} (\d+)/g;
  return [...text.matchAll(pattern)].reduce((sum, m) => sum + Number(m[1]), 0);
}

describe('idempotency across two gateways on one database', () => {
  let db: TestDatabase;
  let a: TestGateway;
  let b: TestGateway;

  beforeAll(async () => {
    db = await createTestDatabase('exec-replicas');
    a = await startTestGateway({ databaseUrl: db.url, yaml: YAML });
    b = await startTestGateway({ databaseUrl: db.url, yaml: YAML });
    for (const gateway of [a, b]) {
      const deadline = Date.now() + 30_000;
      for (;;) {
        const res = await fetch(`${gateway.addresses.api}/api/tools?server_id=recorder`, { headers: ADMIN_HEADERS });
        if (res.status === 200 && ((await res.json()) as { total_count: number }).total_count > 0) break;
        if (Date.now() > deadline) throw new Error('the recorder server did not come up');
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  }, 60_000);

  afterAll(async () => {
    await b?.stop();
    await a?.stop();
    await db?.drop();
  });

  it('a repeat on the other replica while the first runs waits for it: one upstream call in all', async () => {
    const call = (gateway: TestGateway) =>
      fetch(`${gateway.addresses.api}/api/servers/recorder/tools/sleep`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'Idempotency-Key': 'across-replicas', ...ADMIN_HEADERS },
        body: JSON.stringify({ ms: 800 }),
      }).then(async (res) => ({ status: res.status, body: (await res.json()) as { execution_id: string } }));
    // Both gateways run in this process and report into prom-client's global registry: either endpoint gives the
    // total of both replicas' upstream calls.
    const before = await upstreamCalls(b);
    const first = call(a);
    await new Promise((r) => setTimeout(r, 200));
    const [onA, onB] = await Promise.all([first, call(b)]);
    expect([onA.status, onB.status]).toEqual([200, 200]);
    expect(onB.body).toEqual(onA.body);
    expect((await upstreamCalls(b)) - before).toBe(1);
  });
});
