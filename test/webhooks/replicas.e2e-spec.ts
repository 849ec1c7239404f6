import { Client } from 'pg';
import { ADMIN_HEADERS } from '../support/auth';
import { spawnGateway, toolsListed, type SpawnedGateway } from '../support/child-gateway';
import { EVERYTHING } from '../support/paths';
import { createTestDatabase, type TestDatabase } from '../support/test-database';
import { waitFor } from '../support/wait';
import { TestReceiver } from './receiver';

const SECRET = 'whsec_replicas-0123456789';
const CALLS_PER_REPLICA = 100;

describe('webhooks with two gateway processes on one database', () => {
  let db: TestDatabase;
  let receiver: TestReceiver;
  const replicas: SpawnedGateway[] = [];

  // spawnGateway gives the replicas one key of secrets at rest, as they need to open each other's webhook secrets.
  async function startReplica(): Promise<SpawnedGateway> {
    const replica = await spawnGateway({
      databaseUrl: db.url,
      yaml: `mcp:\n  servers:\n    everything:\n      type: stdio\n      command: ${process.execPath}\n      args: ["${EVERYTHING}", "stdio"]\n`,
      // Both workers poll often and claim few rows at a time, so they contend for the same rows.
      env: { MCP_WEBHOOKS_POLL_INTERVAL: '50', MCP_WEBHOOKS_BATCH_SIZE: '1' },
      readyWhen: toolsListed('everything', ADMIN_HEADERS),
      readyTimeoutMs: 120_000,
    });
    replicas.push(replica);
    return replica;
  }

  beforeAll(async () => {
    db = await createTestDatabase('webhook-replicas');
    receiver = new TestReceiver(SECRET);
    await receiver.start();
    await Promise.all([startReplica(), startReplica()]);
  }, 180_000);

  afterAll(async () => {
    for (const replica of replicas) await replica.stop();
    await receiver?.stop();
    await db?.drop();
  }, 60_000);

  it('delivers each event exactly once, whichever replica recorded it', async () => {
    const [a, b] = replicas as [SpawnedGateway, SpawnedGateway];
    const created = await fetch(`${a.api}/api/webhooks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...ADMIN_HEADERS },
      body: JSON.stringify({ url: receiver.url, events: ['tool.executed'], secret: SECRET }),
    });
    expect(created.status).toBe(201);

    // A batch's steps are recorded in one flush, so each replica writes a burst of deliveries in one transaction
    // and both workers (one woken by the write, the other polling) claim from the same rows at the same time.
    const batchOn = async (replica: SpawnedGateway, name: string): Promise<string[]> => {
      const res = await fetch(`${replica.api}/api/tools/batch`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...ADMIN_HEADERS },
        body: JSON.stringify({
          executions: Array.from({ length: CALLS_PER_REPLICA }, (_, i) => ({
            execution_id: `${name}-${i}`,
            tool_name: 'echo',
            server_id: 'everything',
            parameters: { message: `${name} ${i}` },
          })),
          options: { max_parallel: 16 },
        }),
      });
      expect(res.status).toBe(200);
      const body = (await res.json()) as { status: string; executions: Array<{ record_id: string }> };
      expect(body.status).toBe('completed');
      return body.executions.map((e) => e.record_id);
    };
    const executionIds = (await Promise.all([batchOn(a, 'a'), batchOn(b, 'b')])).flat();
    expect(executionIds).toHaveLength(2 * CALLS_PER_REPLICA);

    const client = new Client({ connectionString: db.url });
    await client.connect();
    try {
      // Once every delivery is marked delivered no worker sends it again: then the receiver's count is final.
      await waitFor(
        async () => {
          const { rows } = await client.query<{ n: number }>(
            `SELECT count(*)::int AS n FROM webhook_deliveries WHERE status = 'delivered'`,
          );
          return rows[0]!.n === executionIds.length;
        },
        60_000,
        'every delivery delivered',
      );
      const { rows: deliveries } = await client.query<{ id: string; attempts: number }>(
        `SELECT id, attempts FROM webhook_deliveries`,
      );
      expect(deliveries).toHaveLength(executionIds.length);
      expect(deliveries.every((d) => d.attempts === 1)).toBe(true);
      const { rows: instances } = await client.query<{ instance: string }>(
        `SELECT DISTINCT instance FROM webhook_delivery_attempts`,
      );
      // Both replicas' workers delivered some of them.
      expect(instances).toHaveLength(2);
    } finally {
      await client.end();
    }

    expect(receiver.received).toHaveLength(executionIds.length);
    expect(new Set(receiver.received.map((r) => r.id)).size).toBe(executionIds.length);
    expect(receiver.received.map((r) => r.body.data.execution_id as string).sort()).toEqual([...executionIds].sort());
    expect(receiver.received.every((r) => r.signatureValid)).toBe(true);
  }, 120_000);
});
