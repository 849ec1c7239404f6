import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ADMIN_HEADERS, TEST_ADMIN_KEY } from '../support/auth';
import { freePort } from '../support/ports';
import { descendantsOf, isAlive, processesMentioning } from '../support/processes';
import { waitFor } from '../support/wait';
import { MAIN, requireBuild } from '../support/paths';

const ROOT = path.resolve(__dirname, '..', '..');

describe('the default start and graceful shutdown (built gateway, embedded PostgreSQL)', () => {
  let dataDir: string;
  let child: ChildProcess;
  let output = '';
  let mgmtPort: number;
  let apiPort: number;

  beforeAll(async () => {
    requireBuild();
    dataDir = mkdtempSync(path.join(tmpdir(), 'globalmcp-shutdown-'));
    mgmtPort = await freePort();
    apiPort = await freePort();
    const env = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      SERVER_PORT: String(apiPort),
      SERVER_ADDRESS: '127.0.0.1',
      MANAGEMENT_SERVER_PORT: String(mgmtPort),
      MANAGEMENT_PROMETHEUS_PORT: String(await freePort()),
      GLOBALMCP_DATA_DIR: dataDir,
      GLOBALMCP_ADMIN_API_KEY: TEST_ADMIN_KEY,
    };
    child = spawn(process.execPath, [MAIN], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    await waitFor(
      async () => (await fetch(`http://127.0.0.1:${mgmtPort}/actuator/health/readiness`)).status === 200,
      120_000,
      'readiness',
    ).catch((error: Error) => {
      throw new Error(`${error.message}\n--- gateway output ---\n${output.slice(-4000)}`);
    });
  }, 150_000);

  afterAll(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
    for (const pid of processesMentioning(dataDir)) process.kill(pid, 'SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('becomes ready with no database configured, on an embedded PostgreSQL under the data dir', async () => {
    const db = await fetch(`http://127.0.0.1:${mgmtPort}/actuator/health/db`);
    expect(await db.json()).toEqual({ status: 'UP' });
    expect(existsSync(path.join(dataDir, 'postgres'))).toBe(true);
    expect(processesMentioning(path.join(dataDir, 'postgres')).length).toBeGreaterThan(0);
  });

  it('serves the demo server-everything tools on first start', async () => {
    await waitFor(
      async () =>
        (
          (await (
            await fetch(`http://127.0.0.1:${apiPort}/api/tools?server_id=everything`, { headers: ADMIN_HEADERS })
          ).json()) as {
            total_count: number;
          }
        ).total_count > 0,
      30_000,
      'the demo server to be discovered',
    );
    const res = await fetch(`http://127.0.0.1:${apiPort}/api/tools/echo/execute`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...ADMIN_HEADERS },
      body: JSON.stringify({ parameters: { message: 'first start' } }),
    });
    expect(res.status).toBe(200);
    expect(JSON.stringify(await res.json())).toContain('first start');
  }, 40_000);

  it('exits 0 on SIGTERM within 30 s, after letting an in-flight call finish, and leaves no process behind', async () => {
    const family = descendantsOf(child.pid!);
    expect(family.length).toBeGreaterThan(1); // the embedded PostgreSQL and the server-everything child at least
    // A 2-second upstream operation is in flight when SIGTERM arrives: it must complete, not be cut off.
    const inFlight = fetch(`http://127.0.0.1:${apiPort}/api/tools/trigger-long-running-operation/execute`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...ADMIN_HEADERS },
      body: JSON.stringify({ parameters: { duration: 2, steps: 2 } }),
    });
    await new Promise((r) => setTimeout(r, 300));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const started = Date.now();
    child.kill('SIGTERM');
    const response = await inFlight;
    expect(response.status).toBe(200);
    expect(((await response.json()) as { status: string }).status).toBe('completed');
    const code = await exited;
    expect(code).toBe(0);
    expect(Date.now() - started).toBeLessThan(30_000);
    await new Promise((r) => setTimeout(r, 500));
    expect(family.filter(isAlive)).toEqual([]);
    expect(processesMentioning(dataDir)).toEqual([]);
  }, 40_000);
});
