import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../support/ports';
import { isAlive } from '../support/processes';
import { MAIN, requireBuild, TOOLBOX } from '../support/paths';
import { waitFor } from '../support/wait';
import { requireDebianPostgres, startDebianPostgres, type DebianPostgres } from './debian-postgres';
import { ADMIN_API_KEY, apiFetch } from './live-support';
import { OPS, REPO, run } from './ops-tools';

/**
 * Live drill (deployment guide 10.3): ops/scripts/dr-test.sh end to end on a real PostgreSQL. A built gateway
 * runs under a systemctl stand-in, with a server registered through the API and calls on record. The script stops
 * it, fingerprints every table, backs up with pg_dump, drops the database, restores with psql, compares the
 * fingerprints, starts the gateway and compares the registered servers; the test then checks the execution
 * history and that the restored gateway still calls the server. The cluster is the distribution's PostgreSQL,
 * so pg_dump and the server are one major version.
 */

const SCRIPTS = path.join(OPS, 'scripts');
const DATABASE = 'globalmcp';

describe('live drill: ops/scripts/dr-test.sh end to end', () => {
  let pg: DebianPostgres | undefined;
  let tmp: string;
  let api: string;
  let scriptEnv: NodeJS.ProcessEnv;
  const pidFile = () => path.join(tmp, 'gateway.pid');
  const log = () =>
    existsSync(path.join(tmp, 'gateway.log')) ? readFileSync(path.join(tmp, 'gateway.log'), 'utf8') : '';

  beforeAll(async () => {
    requireBuild();
    const binDir = requireDebianPostgres();
    if (!binDir) return;
    pg = await startDebianPostgres(binDir, DATABASE);
    tmp = mkdtempSync(path.join(os.tmpdir(), 'globalmcp-dr-'));
    const ports = { api: await freePort(), management: await freePort(), metrics: await freePort() };
    api = `http://127.0.0.1:${ports.api}`;
    const config = path.join(tmp, 'application.yml');
    writeFileSync(
      config,
      `server:\n  port: ${ports.api}\n  address: 127.0.0.1\nmanagement:\n  server:\n    port: ${ports.management}\n` +
        `  prometheus:\n    port: ${ports.metrics}\nmcp:\n  data-dir: ${tmp}/data\n  security:\n    stdio:\n` +
        `      allowed-commands: [${process.execPath}]\n`,
    );
    // systemctl stand-in: start/stop `node dist/src/main.js` with the drill's database, its PID in a file.
    const systemctl = path.join(tmp, 'fake-systemctl');
    writeFileSync(
      systemctl,
      `#!/usr/bin/env bash
set -euo pipefail
pid_file="${pidFile()}"
stop() { if [ -f "$pid_file" ]; then kill "$(cat "$pid_file")" 2>/dev/null || true; while kill -0 "$(cat "$pid_file")" 2>/dev/null; do sleep 0.1; done; rm -f "$pid_file"; fi; }
start() {
  DATABASE_URL='${pg.url(DATABASE)}' GLOBALMCP_ADMIN_API_KEY='${ADMIN_API_KEY}' \\
    "${process.execPath}" "${MAIN}" --config "${config}" </dev/null >>"${tmp}/gateway.log" 2>&1 &
  echo $! >"$pid_file"
}
case "$1" in start) start ;; stop) stop ;; restart) stop; start ;; *) ;; esac
`,
    );
    chmodSync(systemctl, 0o755);
    mkdirSync(path.join(tmp, 'backup'));
    scriptEnv = {
      PATH: process.env.PATH,
      DATABASE_URL: pg.url(DATABASE),
      PSQL: path.join(binDir, 'psql'),
      PG_DUMP: path.join(binDir, 'pg_dump'),
      BACKUP_DIR: path.join(tmp, 'backup'),
      SYSTEMCTL: systemctl,
      HEALTH_URL: `http://127.0.0.1:${ports.management}/actuator/health/readiness`,
      WAIT_TRIES: '120',
      WAIT_INTERVAL: '0.5',
      API_URL: api,
      API_KEY: ADMIN_API_KEY,
    };
    run(systemctl, ['start'], { env: scriptEnv });
    await waitFor(
      async () => (await fetch(scriptEnv.HEALTH_URL!).catch(() => undefined))?.status === 200,
      90_000,
      'the gateway to be ready',
    ).catch((error: Error) => {
      throw new Error(`${error.message}\n--- gateway log ---\n${log().slice(-4000)}`);
    });
  });

  afterAll(async () => {
    if (tmp && existsSync(pidFile())) {
      const pid = Number(readFileSync(pidFile(), 'utf8'));
      if (isAlive(pid)) {
        process.kill(pid, 'SIGTERM');
        await waitFor(async () => !isAlive(pid), 20_000, 'the gateway to stop').catch(() =>
          process.kill(pid, 'SIGKILL'),
        );
      }
    }
    await pg?.stop();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  const json = async (method: string, p: string, body?: unknown) => {
    const res = await apiFetch(`${api}${p}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as any };
  };

  it('backs up, destroys and restores PostgreSQL; the gateway then serves the same servers and executions', async () => {
    if (!pg) return; // requireDebianPostgres printed SKIPPED (GLOBALMCP_SKIP_MISSING_TOOLS=1 only)

    const registered = await json('POST', '/api/servers', {
      id: 'drill-echo',
      name: 'Drill echo',
      type: 'stdio',
      configuration: { command: process.execPath, args: [TOOLBOX] },
      enabled: true,
    });
    expect(registered.status).toBe(201);
    for (const message of ['before the loss', 'still before']) {
      const call = await json('POST', '/api/tools/echo/execute', { server_id: 'drill-echo', parameters: { message } });
      expect(call.status).toBe(200);
    }
    const history = async () =>
      ((await json('GET', '/api/executions?server_id=drill-echo&limit=100')).body.executions as { id: string }[])
        .map((e) => e.id)
        .sort();
    await waitFor(async () => (await history()).length === 2, 10_000, 'both calls on record');
    const executionsBefore = await history();

    const drill = run(path.join(SCRIPTS, 'dr-test.sh'), ['--yes'], { cwd: REPO, env: scriptEnv, timeoutMs: 180_000 });
    if (drill.status !== 0) console.log(`${drill.output}\n--- gateway log ---\n${log().slice(-4000)}`);
    expect(drill.output).toContain('Every table matches its state before the drill');
    expect(drill.output).toContain('The gateway serves the same servers:');
    expect(drill.output).toContain('drill-echo');
    expect(drill.output).toContain('DR test successful');
    expect(drill.status).toBe(0);

    // The database really went away and came back: the restore ran psql on the dump the backup step wrote.
    expect(drill.output).toMatch(/Testing restoration from: .*globalmcp_\d{8}_\d{6}\.sql\.gz/);
    expect(drill.output).toContain('Database restoration completed');

    // fetch's pooled keep-alive socket still points at the gateway the drill stopped: the first call may fail on it.
    await waitFor(
      async () => (await json('GET', '/api/servers').catch(() => undefined))?.status === 200,
      10_000,
      'the API',
    );
    expect(await history()).toEqual(executionsBefore);
    const server = await json('GET', '/api/servers/drill-echo');
    expect(server.status).toBe(200);
    await waitFor(
      async () =>
        (await json('POST', '/api/tools/echo/execute', { server_id: 'drill-echo', parameters: { message: 'after' } }))
          .status === 200,
      30_000,
      'the restored server to answer',
    );
  });
});
