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

interface Gateway {
  child: ChildProcess;
  api: string;
  dir: string;
  output: string;
  /** The gateway and every process under it, read while it runs (for the cleanup after a kill -9). */
  pids: number[];
}

/**
 * The boot sweep of `running` executions with replicas: a process starting next to a live one leaves that one's
 * calls running; the calls of a process killed with SIGKILL are interrupted once its heartbeat is stale.
 */
describe('running executions and gateway processes (owner + heartbeat)', () => {
  let db: TestDatabase;
  let client: Client;
  const gateways: Gateway[] = [];

  async function start(): Promise<Gateway> {
    const dir = mkdtempSync(path.join(tmpdir(), 'globalmcp-owners-'));
    const config = path.join(dir, 'application.yml');
    writeFileSync(
      config,
      `mcp:\n  servers:\n    recorder:\n      type: stdio\n      command: ${process.execPath}\n      args: ["${RECORDER}"]\n`,
    );
    const port = await freePort();
    const env = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      GLOBALMCP_CONFIG: config,
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
    const gateway: Gateway = { child, api: `http://127.0.0.1:${port}`, dir, output: '', pids: [] };
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

  const statusOf = async (key: string) =>
    (
      await client.query<{ status: string; owner: string | null; error: { message: string } | null }>(
        `SELECT status, owner, error FROM executions WHERE idempotency_key = $1`,
        [key],
      )
    ).rows[0];

  beforeAll(async () => {
    requireBuild();
    db = await createTestDatabase('exec-owners');
    client = new Client({ connectionString: db.url });
    await client.connect();
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
      rmSync(gateway.dir, { recursive: true, force: true });
    }
    await client?.end();
    await db?.drop();
  }, 60_000);

  it("a starting replica leaves a live replica's call running; a killed replica's call is interrupted", async () => {
    const a = await start();
    // An idempotent call writes its `running` row first (owned by A), then runs for a minute.
    const long = fetch(`${a.api}/api/servers/recorder/tools/sleep`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...ADMIN_HEADERS },
      body: JSON.stringify({ parameters: { ms: 60_000 }, idempotency_key: 'long-on-a' }),
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
    a.child.kill('SIGKILL');
    await waitFor(async () => (await statusOf('long-on-a'))?.status === 'interrupted', 20_000, 'the sweep by B');
    expect((await statusOf('long-on-a'))!.error!.message).toMatch(/stopped before the call finished/);
    await long;
  }, 120_000);
});
