import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { TEST_ADMIN_KEY } from '../support/auth';
import { REPO, requireBuild } from '../support/paths';
import { freePort } from '../support/ports';
import { createTestDatabase, type TestDatabase } from '../support/test-database';
import { waitFor } from '../support/wait';
import { BIN, globalmcp } from './cli';

describe('globalmcp start and validate-config', () => {
  let db: TestDatabase;
  let dir: string;

  beforeAll(async () => {
    requireBuild();
    db = await createTestDatabase('cli_gateway');
    dir = mkdtempSync(path.join(tmpdir(), 'globalmcp-cli-gw-'));
  }, 60_000);

  afterAll(async () => {
    await db?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('validate-config exits 0 with a summary for a valid file and 1 naming the key of an invalid one', async () => {
    const good = path.join(dir, 'good.yml');
    writeFileSync(good, 'server:\n  port: 18080\n');
    const valid = await globalmcp(['validate-config', '--config', good], { HOME: dir });
    expect(valid.code).toBe(0);
    expect(valid.stdout).toContain('configuration is valid');
    const bad = path.join(dir, 'bad.yml');
    writeFileSync(bad, 'server:\n  port: not-a-port\n');
    const invalid = await globalmcp(['validate-config', '--config', bad], { HOME: dir });
    expect(invalid.code).toBe(1);
    expect(invalid.stdout).toMatch(/^ERROR server\.port: /m);
  });

  it('start runs the gateway in its own process until SIGTERM, which it answers with a graceful exit 0', async () => {
    const config = path.join(dir, 'start.yml');
    writeFileSync(config, '{}\n');
    const api = await freePort();
    const management = await freePort();
    const child = spawn(process.execPath, [BIN, 'start', '--no-build', '--config', config], {
      cwd: REPO,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: dir,
        GLOBALMCP_DATA_DIR: path.join(dir, 'data'),
        GLOBALMCP_ADMIN_API_KEY: TEST_ADMIN_KEY,
        DATABASE_URL: db.url,
        SERVER_ADDRESS: '127.0.0.1',
        SERVER_PORT: String(api),
        MANAGEMENT_SERVER_PORT: String(management),
        MANAGEMENT_PROMETHEUS_PORT: String(await freePort()),
        MCP_SHUTDOWN_DRAIN_DELAY: '0',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      await waitFor(
        async () => {
          if (child.exitCode !== null) throw new Error(`exited with ${child.exitCode}:\n${output}`);
          return (
            (await fetch(`http://127.0.0.1:${management}/actuator/health/readiness`).catch(() => undefined))?.status ===
            200
          );
        },
        90_000,
        'the gateway started by globalmcp start to be ready',
      );
      // The CLI talks to the gateway it started.
      const listed = await globalmcp(
        ['--url', `http://127.0.0.1:${api}`, '--api-key', TEST_ADMIN_KEY, 'servers', 'list'],
        { HOME: dir },
      );
      expect(listed.code).toBe(0);
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  }, 120_000);
});
