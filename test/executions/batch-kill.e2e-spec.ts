import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { ADMIN_HEADERS, TEST_ADMIN_KEY } from '../support/auth';
import { MAIN, RECORDER, REPO, requireBuild } from '../support/paths';
import { freePort } from '../support/ports';
import { descendantsOf, isAlive } from '../support/processes';
import { createTestDatabase, type TestDatabase } from '../support/test-database';
import { waitFor } from '../support/wait';
import { TestReceiver } from '../webhooks/receiver';

const SECRET = 'whsec_batch-kill-0123456789';

interface Gateway {
  child: ChildProcess;
  api: string;
  output: string;
  pids: number[];
}

describe('kill -9 of the gateway in the middle of a batch', () => {
  let db: TestDatabase;
  let client: Client;
  let dir: string;
  let receiver: TestReceiver;
  const gateways: Gateway[] = [];

  async function start(): Promise<Gateway> {
    const port = await freePort();
    const env = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      GLOBALMCP_CONFIG: path.join(dir, 'application.yml'),
      SERVER_PORT: String(port),
      SERVER_ADDRESS: '127.0.0.1',
      MANAGEMENT_SERVER_PORT: String(await freePort()),
      MANAGEMENT_PROMETHEUS_PORT: String(await freePort()),
      GLOBALMCP_DATA_DIR: path.join(dir, 'data'),
      GLOBALMCP_ADMIN_API_KEY: TEST_ADMIN_KEY,
      DATABASE_URL: db.url,
      MCP_SECURITY_RATE_LIMITING_ENABLED: 'false',
      MCP_EXECUTIONS_HEARTBEAT_INTERVAL: '200',
      MCP_EXECUTIONS_ORPHAN_AFTER: '3000',
    };
    const child = spawn(process.execPath, [MAIN], { cwd: REPO, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const gateway: Gateway = { child, api: `http://127.0.0.1:${port}`, output: '', pids: [] };
    child.stdout!.on('data', (d: Buffer) => (gateway.output += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (gateway.output += d.toString()));
    gateways.push(gateway);
    await waitFor(
      async () =>
        (
          (await (await fetch(`${gateway.api}/api/tools?server_id=recorder`, { headers: ADMIN_HEADERS })).json()) as {
            total_count: number;
          }
        ).total_count > 0,
      60_000,
      'the recorder server',
    ).catch((error: Error) => {
      throw new Error(`${error.message}\n--- gateway output ---\n${gateway.output.slice(-4000)}`);
    });
    gateway.pids = [child.pid!, ...descendantsOf(child.pid!)];
    return gateway;
  }

  const stepsOf = async () =>
    (
      await client.query<{ step_id: string; status: string; batch_id: string }>(
        `SELECT step_id, status, batch_id FROM executions WHERE step_id LIKE 'killed-%' ORDER BY step_id`,
      )
    ).rows;

  beforeAll(async () => {
    requireBuild();
    db = await createTestDatabase('exec-batch-kill');
    client = new Client({ connectionString: db.url });
    await client.connect();
    dir = mkdtempSync(path.join(tmpdir(), 'globalmcp-batch-kill-'));
    receiver = new TestReceiver(SECRET);
    await receiver.start();
    writeFileSync(
      path.join(dir, 'application.yml'),
      `mcp:\n  servers:\n    recorder:\n      type: stdio\n      command: ${process.execPath}\n      args: ["${RECORDER}"]\n`,
    );
  });

  afterAll(async () => {
    for (const gateway of gateways) {
      if (gateway.child.exitCode === null && gateway.child.signalCode === null) {
        const exited = new Promise((resolve) => gateway.child.once('exit', resolve));
        gateway.child.kill('SIGTERM');
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([exited, new Promise((r) => (timer = setTimeout(r, 15_000)))]);
        clearTimeout(timer);
      }
      for (const pid of [...gateway.pids, ...descendantsOf(gateway.child.pid!)])
        if (isAlive(pid)) process.kill(pid, 'SIGKILL');
    }
    rmSync(dir, { recursive: true, force: true });
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
