import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from '../support/ports';
import { descendantsOf, isAlive, processesMentioning } from '../support/processes';

const ROOT = path.resolve(__dirname, '..', '..');
const MAIN = path.join(ROOT, 'dist', 'src', 'main.js');

async function waitFor(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('the default start and graceful shutdown (built gateway, embedded PostgreSQL)', () => {
  let dataDir: string;
  let child: ChildProcess;
  let output = '';
  let mgmtPort: number;

  beforeAll(async () => {
    if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run \`npm run build\` first (npm test does)`);
    dataDir = mkdtempSync(path.join(tmpdir(), 'globalmcp-shutdown-'));
    mgmtPort = await freePort();
    const env = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      SERVER_PORT: String(await freePort()),
      SERVER_ADDRESS: '127.0.0.1',
      MANAGEMENT_SERVER_PORT: String(mgmtPort),
      MANAGEMENT_PROMETHEUS_PORT: String(await freePort()),
      GLOBALMCP_DATA_DIR: dataDir,
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

  it('exits 0 on SIGTERM within 30 s and leaves no process behind', async () => {
    const family = descendantsOf(child.pid!);
    expect(family.length).toBeGreaterThan(0); // at least the embedded PostgreSQL
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const started = Date.now();
    child.kill('SIGTERM');
    const code = await exited;
    expect(code).toBe(0);
    expect(Date.now() - started).toBeLessThan(30_000);
    await new Promise((r) => setTimeout(r, 500));
    expect(family.filter(isAlive)).toEqual([]);
    expect(processesMentioning(dataDir)).toEqual([]);
  }, 40_000);
});
