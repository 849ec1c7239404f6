import { Client } from 'pg';
import { ADMIN_HEADERS } from '../support/auth';
import type { SpawnedGateway } from '../support/child-gateway';
import { createTestDatabase, type TestDatabase } from '../support/test-database';
import { waitFor } from '../support/wait';
import { spawnRecorderGateway } from './recorder-gateway';

/**
 * The boot sweep of `running` executions with replicas: a process starting next to a live one leaves that one's
 * calls running; the calls of a process killed with SIGKILL are interrupted once its heartbeat is stale.
 */
describe('running executions and gateway processes (owner + heartbeat)', () => {
  let db: TestDatabase;
  let client: Client;
  const gateways: SpawnedGateway[] = [];

  async function start(): Promise<SpawnedGateway> {
    const gateway = await spawnRecorderGateway(db.url);
    gateways.push(gateway);
    return gateway;
  }

  const statusOf = async (key: string) =>
    (
      await client.query<{ status: string; owner: string | null; error: { message: string; reason?: string } | null }>(
        `SELECT status, owner, error FROM executions WHERE idempotency_key = $1`,
        [key],
      )
    ).rows[0];

  beforeAll(async () => {
    db = await createTestDatabase('exec-owners');
    client = new Client({ connectionString: db.url });
    await client.connect();
  });

  afterAll(async () => {
    for (const gateway of gateways) await gateway.stop();
    await client?.end();
    await db?.drop();
  }, 60_000);

  it("a starting replica leaves a live replica's call running; a killed replica's call is interrupted", async () => {
    const a = await start();
    // An idempotent call writes its `running` row first (owned by A), then runs for a minute.
    const long = fetch(`${a.api}/api/servers/recorder/tools/sleep`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'Idempotency-Key': 'long-on-a', ...ADMIN_HEADERS },
      body: JSON.stringify({ ms: 60_000 }),
    }).catch(() => undefined);
    await waitFor(async () => (await statusOf('long-on-a'))?.status === 'running', 10_000, "A's running row");
    const owner = (await statusOf('long-on-a'))!.owner;
    expect(owner).toEqual(expect.stringContaining(`:${a.child.pid}:`));

    const b = await start();
    // B swept at start and keeps sweeping at each heartbeat: wait for several of its heartbeats.
    const heartbeatOfB = async () =>
      (
        await client.query<{ at: Date }>(`SELECT heartbeat_at AS at FROM gateway_instances WHERE id LIKE $1`, [
          `%:${b.child.pid}:%`,
        ])
      ).rows[0]?.at.getTime();
    const first = await heartbeatOfB();
    expect(first).toBeDefined();
    await waitFor(async () => ((await heartbeatOfB()) ?? 0) > first!, 10_000, "B's next heartbeat");
    const second = (await heartbeatOfB())!;
    await waitFor(async () => ((await heartbeatOfB()) ?? 0) > second, 10_000, "B's heartbeat after that");
    expect((await statusOf('long-on-a'))!.status).toBe('running');

    // A dies without a word; once its heartbeat is stale, B interrupts its call.
    a.processTree(); // what the kill -9 orphans, for the cleanup
    a.child.kill('SIGKILL');
    await waitFor(async () => (await statusOf('long-on-a'))?.status === 'interrupted', 20_000, 'the sweep by B');
    expect((await statusOf('long-on-a'))!.error!.message).toMatch(/stopped before the call finished/);
    // A process that died under the call, not a shutdown it went through: the record says which.
    expect((await statusOf('long-on-a'))!.error).toMatchObject({ reason: 'gateway_crash' });
    await long;
  }, 120_000);
});
