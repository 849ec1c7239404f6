import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { ADMIN_HEADERS, TEST_ADMIN_KEY } from '../support/auth';
import { MAIN, REPO, requireBuild } from '../support/paths';
import { freePort } from '../support/ports';
import { processesMentioning } from '../support/processes';
import { createTestDatabase, type TestDatabase } from '../support/test-database';
import { waitFor } from '../support/wait';
import { TestReceiver } from './receiver';

const SECRET = 'whsec_replicas-0123456789';
const CALLS_PER_REPLICA = 100;

interface Replica {
  child: ChildProcess;
  api: string;
  dataDir: string;
  output: string;
}

describe('webhooks with two gateway processes on one database', () => {
  let db: TestDatabase;
  let receiver: TestReceiver;
  const replicas: Replica[] = [];
  // Replicas share the key of secrets at rest, as they must to open each other's webhook secrets.
  const encryptionKey = randomBytes(32).toString('base64');

  async function startReplica(): Promise<Replica> {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'globalmcp-webhook-replica-'));
    const port = await freePort();
    const env = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      SERVER_PORT: String(port),
      SERVER_ADDRESS: '127.0.0.1',
      MANAGEMENT_SERVER_PORT: String(await freePort()),
      MANAGEMENT_PROMETHEUS_PORT: String(await freePort()),
      GLOBALMCP_DATA_DIR: dataDir,
      GLOBALMCP_ADMIN_API_KEY: TEST_ADMIN_KEY,
      GLOBALMCP_ENCRYPTION_KEY: encryptionKey,
      DATABASE_URL: db.url,
      MCP_SECURITY_RATE_LIMITING_ENABLED: 'false',
      // Both workers poll often and claim few rows at a time, so they contend for the same rows.
      MCP_WEBHOOKS_POLL_INTERVAL: '50',
      MCP_WEBHOOKS_BATCH_SIZE: '1',
    };
    const child = spawn(process.execPath, [MAIN], { cwd: REPO, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const replica: Replica = { child, api: `http://127.0.0.1:${port}`, dataDir, output: '' };
    child.stdout!.on('data', (d: Buffer) => (replica.output += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (replica.output += d.toString()));
    replicas.push(replica);
    await waitFor(
      async () =>
        (
          (await (await fetch(`${replica.api}/api/tools?server_id=everything`, { headers: ADMIN_HEADERS })).json()) as {
            total_count: number;
          }
        ).total_count > 0,
      120_000,
      'the demo server',
    ).catch((error: Error) => {
      throw new Error(`${error.message}\n--- gateway output ---\n${replica.output.slice(-4000)}`);
    });
    return replica;
  }

  beforeAll(async () => {
    requireBuild();
    db = await createTestDatabase('webhook-replicas');
    receiver = new TestReceiver(SECRET);
    await receiver.start();
    await Promise.all([startReplica(), startReplica()]);
  }, 180_000);

  afterAll(async () => {
    for (const replica of replicas) {
      if (replica.child.exitCode === null && replica.child.signalCode === null) {
        const exited = new Promise((resolve) => replica.child.once('exit', resolve));
        replica.child.kill('SIGTERM');
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([exited, new Promise((r) => (timer = setTimeout(r, 15_000)))]);
        clearTimeout(timer);
        if (replica.child.exitCode === null && replica.child.signalCode === null) replica.child.kill('SIGKILL');
      }
      for (const pid of processesMentioning(replica.dataDir)) process.kill(pid, 'SIGKILL');
      rmSync(replica.dataDir, { recursive: true, force: true });
    }
    await receiver?.stop();
    await db?.drop();
  }, 60_000);

  it('delivers each event exactly once, whichever replica recorded it', async () => {
    const [a, b] = replicas as [Replica, Replica];
    const created = await fetch(`${a.api}/api/webhooks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...ADMIN_HEADERS },
      body: JSON.stringify({ url: receiver.url, events: ['tool.executed'], secret: SECRET }),
    });
    expect(created.status).toBe(201);

    // A batch's steps are recorded in one flush, so each replica writes a burst of deliveries in one transaction
    // and both workers (one woken by the write, the other polling) claim from the same rows at the same time.
    const batchOn = async (replica: Replica, name: string): Promise<string[]> => {
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
