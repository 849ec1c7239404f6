import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { ADMIN_HEADERS, TEST_ADMIN_KEY } from '../support/auth';
import { freePort } from '../support/ports';
import { processesMentioning } from '../support/processes';
import { createTestDatabase, type TestDatabase } from '../support/test-database';
import { waitFor } from '../support/wait';
import { MAIN, requireBuild } from '../support/paths';

const ROOT = path.resolve(__dirname, '..', '..');
const CALLS = 200;

describe('SIGTERM under load (built gateway): every answered call has its execution record', () => {
  let db: TestDatabase;
  let dataDir: string;
  let child: ChildProcess;
  let output = '';
  let apiPort: number;

  beforeAll(async () => {
    requireBuild();
    db = await createTestDatabase('exec-sigterm');
    dataDir = mkdtempSync(path.join(tmpdir(), 'globalmcp-exec-sigterm-'));
    apiPort = await freePort();
    const mgmtPort = await freePort();
    const env = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      SERVER_PORT: String(apiPort),
      SERVER_ADDRESS: '127.0.0.1',
      MANAGEMENT_SERVER_PORT: String(mgmtPort),
      MANAGEMENT_PROMETHEUS_PORT: String(await freePort()),
      GLOBALMCP_DATA_DIR: dataDir,
      GLOBALMCP_ADMIN_API_KEY: TEST_ADMIN_KEY,
      DATABASE_URL: db.url,
      MCP_SECURITY_RATE_LIMITING_ENABLED: 'false',
      MCP_SHUTDOWN_DRAIN_DELAY: '0',
    };
    child = spawn(process.execPath, [MAIN], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    await waitFor(
      async () =>
        (
          (await (
            await fetch(`http://127.0.0.1:${apiPort}/api/tools?server_id=everything`, { headers: ADMIN_HEADERS })
          ).json()) as { total_count: number }
        ).total_count > 0,
      120_000,
      'the demo server',
    ).catch((error: Error) => {
      throw new Error(`${error.message}\n--- gateway output ---\n${output.slice(-4000)}`);
    });
  }, 150_000);

  afterAll(async () => {
    if (child.exitCode === null) child.kill('SIGKILL');
    for (const pid of processesMentioning(dataDir)) process.kill(pid, 'SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
    await db?.drop();
  });

  it('flushes the buffered records before the database closes', async () => {
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const answered: string[] = [];
    let sent = 0;
    let signalled = false;
    const one = async (i: number): Promise<void> => {
      try {
        const res = await fetch(`http://127.0.0.1:${apiPort}/api/tools/echo/execute`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...ADMIN_HEADERS },
          body: JSON.stringify({ server_id: 'everything', parameters: { message: `load ${i}` } }),
        });
        const body = (await res.json()) as { execution_id?: string };
        if (res.status === 200 && body.execution_id) answered.push(body.execution_id);
      } catch {
        // refused or reset once the gateway stops accepting: not answered, so nothing to find
      }
    };
    // 16 callers in parallel; SIGTERM once half of the calls have been sent.
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (sent < CALLS) {
          const i = sent++;
          if (i === CALLS / 2 && !signalled) {
            signalled = true;
            child.kill('SIGTERM');
          }
          await one(i);
        }
      }),
    );
    expect(await exited).toBe(0);
    expect(answered.length).toBeGreaterThan(CALLS / 4);

    const client = new Client({ connectionString: db.url });
    await client.connect();
    try {
      const { rows } = await client.query<{ id: string; status: string }>(
        `SELECT id, status FROM executions WHERE id = ANY($1::uuid[])`,
        [answered],
      );
      const found = new Map(rows.map((r) => [r.id, r.status]));
      expect(answered.filter((id) => !found.has(id))).toEqual([]);
      expect([...new Set(found.values())]).toEqual(['completed']);
    } finally {
      await client.end();
    }
  }, 120_000);
});
