import { type ChildProcess, execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { chmod, stat } from 'node:fs/promises';
import { createServer } from 'node:net';
import path from 'node:path';
import type { LoggerService } from '@nestjs/common';

// What the embedded PostgreSQL (embedded-postgres.service.ts) needs from the host: its binaries, an unprivileged
// owner when the gateway runs as root, and the processes it starts and stops.

/** The OS user PostgreSQL runs as under root, and the cluster's superuser. */
export const SUPERUSER = 'postgres';

export interface Binaries {
  initdb: string;
  postgres: string;
}

export interface Owner {
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

/** Paths of `initdb` and `postgres` in the platform package embedded-postgres depends on. */
export function resolveBinaries(): Binaries {
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
export function ensurePostgresUser(logger: LoggerService): Owner | undefined {
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
export async function makeTraversable(dir: string): Promise<void> {
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
export function chooseRootMode(pgdata: string, binaries: Binaries, owner: Owner, logger: LoggerService): Owner['mode'] {
  if (existsSync(path.join(pgdata, 'PG_VERSION'))) return statSync(pgdata).uid === 0 ? 'userns' : 'setuid';
  const reachable = [path.dirname(pgdata), path.dirname(binaries.postgres)].every((dir) => canReach(dir, owner, '-x'));
  if (reachable || !userNamespacesWork(owner)) return 'setuid';
  logger.log(
    'The postgres user cannot traverse the data or binary directories: running PostgreSQL in a user namespace',
  );
  return 'userns';
}

/** The command that runs `file` as the postgres user (or as the current user when not root). */
export function asOwner(
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

export function assertReachable(dir: string, owner: Owner): void {
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
export function postgresEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('PG')) env[key] = value;
  env.LC_ALL = 'C';
  return env;
}

export function readLockStatus(lockFile: string, pid: number | undefined): string | undefined {
  try {
    const lines = readFileSync(lockFile, 'utf8').split('\n');
    if (Number(lines[0]) !== pid) return undefined;
    return lines[7]?.trim();
  } catch {
    return undefined;
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Whether `pid` is a postmaster started with `-D <pgdata>`. */
export function isPostmasterFor(pid: number, pgdata: string): boolean {
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
export function liveNodeParent(pid: number): number | undefined {
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

export async function stopPid(pid: number, timeoutMs: number): Promise<void> {
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

export function stopProcess(child: ChildProcess, timeoutMs: number): Promise<void> {
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

export const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
