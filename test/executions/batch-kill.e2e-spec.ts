import { Client } from 'pg';
import { ADMIN_HEADERS } from '../support/auth';
import type { SpawnedGateway } from '../support/child-gateway';
import { createTestDatabase, type TestDatabase } from '../support/test-database';
import { waitFor } from '../support/wait';
import { spawnRecorderGateway } from './recorder-gateway';
import { TestReceiver } from '../webhooks/receiver';

const SECRET = 'whsec_batch-kill-0123456789';

describe('kill -9 of the gateway in the middle of a batch', () => {
  let db: TestDatabase;
  let client: Client;
  let receiver: TestReceiver;
  const gateways: SpawnedGateway[] = [];

  async function start(): Promise<SpawnedGateway> {
    const gateway = await spawnRecorderGateway(db.url);
    gateways.push(gateway);
    return gateway;
  }

  const stepsOf = async () =>
    (
      await client.query<{ step_id: string; status: string; batch_id: string }>(
        `SELECT step_id, status, batch_id FROM executions WHERE step_id LIKE 'killed-%' ORDER BY step_id`,
      )
    ).rows;

  beforeAll(async () => {
    db = await createTestDatabase('exec-batch-kill');
    client = new Client({ connectionString: db.url });
    await client.connect();
    receiver = new TestReceiver(SECRET);
    await receiver.start();
  });

  afterAll(async () => {
    for (const gateway of gateways) await gateway.stop();
    await receiver?.stop();
    await client?.end();
    await db?.drop();
  }, 60_000);

  it('leaves no step running forever: the running steps are interrupted after the restart', async () => {
    const first = await start();
    const hook = await fetch(`${first.api}/api/webhooks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...ADMIN_HEADERS },
      body: JSON.stringify({ url: receiver.url, events: ['tool.failed'], secret: SECRET }),
    });
    expect(hook.status).toBe(201);
    const batch = fetch(`${first.api}/api/tools/batch`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...ADMIN_HEADERS },
      body: JSON.stringify({
        executions: [
          { execution_id: 'killed-a', tool_name: 'sleep', server_id: 'recorder', parameters: { ms: 60_000 } },
          { execution_id: 'killed-b', tool_name: 'sleep', server_id: 'recorder', parameters: { ms: 60_000 } },
          {
            execution_id: 'killed-c',
            tool_name: 'sleep',
            server_id: 'recorder',
            parameters: { ms: 1 },
            depends_on: ['killed-a'],
          },
        ],
        options: { max_parallel: 2 },
      }),
    }).catch(() => undefined);
    // Both independent steps are on record as running while they run.
    await waitFor(
      async () => (await stepsOf()).filter((s) => s.status === 'running').length === 2,
      15_000,
      'two running steps',
    );
    const running = await stepsOf();
    expect(running.map((s) => s.step_id)).toEqual(['killed-a', 'killed-b']);
    expect(new Set(running.map((s) => s.batch_id)).size).toBe(1);

    first.processTree(); // what the kill -9 orphans, for the cleanup
    first.child.kill('SIGKILL');
    await batch;
    await start();
    await waitFor(async () => (await stepsOf()).every((s) => s.status !== 'running'), 20_000, 'no step left running');
    const after = await stepsOf();
    expect(after.map((s) => [s.step_id, s.status])).toEqual([
      ['killed-a', 'interrupted'],
      ['killed-b', 'interrupted'],
    ]);
    const { rows } = await client.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM executions WHERE status = 'running'`,
    );
    expect(rows[0]!.n).toBe(0);

    // Subscribers hear of them as tool.failed with status interrupted (written with the status change).
    await waitFor(() => receiver.of('tool.failed').length === 2, 15_000, 'two tool.failed deliveries');
    expect(
      receiver
        .of('tool.failed')
        .map((r) => [r.body.data.step_id, r.body.data.status, r.signatureValid])
        .sort(),
    ).toEqual([
      ['killed-a', 'interrupted', true],
      ['killed-b', 'interrupted', true],
    ]);
  }, 120_000);
});
