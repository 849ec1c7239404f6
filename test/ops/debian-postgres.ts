import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Client } from 'pg';
import { freePort } from '../support/ports';
import { isAlive } from '../support/processes';
import { waitFor } from '../support/wait';
import { requireTool, run, which } from './ops-tools';

/**
 * A PostgreSQL cluster of the distribution's own server (Debian's postgresql-NN), for the operations drills that
 * run the guide's pg_dump/psql scripts: those are the distribution's client tools, and pg_dump refuses a server
 * newer than itself (the embedded PostgreSQL the other tests share is newer). Owned by the test: a temp data
 * directory, a loopback port, password (SCRAM) authentication, stopped by PID.
 */
export interface DebianPostgres {
  port: number;
  binDir: string;
  /** A role with a password that owns `database` and may create databases (restore recreates it). */
  url(database: string): string;
  superuserQuery(sql: string): Promise<void>;
  stop(): Promise<void>;
}

const ROLE = 'globalmcp';
const PASSWORD = 'dr-drill-password-2f9c';

function serverBinDir(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root)
    .filter((v) => existsSync(path.join(root, v, 'bin', 'postgres')))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] ? path.join(root, versions[0], 'bin') : undefined;
}

/** The server's binaries, installing Debian's `postgresql` package when missing (as requireTool does); undefined = skip. */
export function requireDebianPostgres(): string | undefined {
  let bin = serverBinDir();
  if (!bin && requireTool('/usr/lib/postgresql/15/bin/postgres', 'postgresql')) bin = serverBinDir();
  return bin;
}

/** Starts a fresh cluster; as root it runs as the `postgres` user (PostgreSQL refuses to run as root). */
export async function startDebianPostgres(binDir: string, database: string): Promise<DebianPostgres> {
  const asRoot = process.getuid?.() === 0;
  // Under /tmp, not a possibly private TMPDIR: the postgres user must be able to reach the directory.
  const dir = mkdtempSync(path.join(asRoot ? '/tmp' : (process.env.TMPDIR ?? '/tmp'), 'globalmcp-debian-pg-'));
  const data = path.join(dir, 'data');
  const pwfile = path.join(dir, 'pw');
  writeFileSync(pwfile, `${PASSWORD}\n`);
  let uid: number | undefined;
  let gid: number | undefined;
  if (asRoot) {
    const id = run('id', ['-u', 'postgres']);
    if (id.status !== 0)
      throw new Error('the postgres user does not exist (Debian creates it with the postgresql package)');
    uid = Number(id.stdout.trim());
    gid = Number(run('id', ['-g', 'postgres']).stdout.trim());
    chmodSync(dir, 0o755);
    chownSync(dir, uid, gid);
    chownSync(pwfile, uid, gid);
  }
  const as = (command: string, args: string[]): [string, string[]] =>
    asRoot
      ? [which('setpriv')!, ['--reuid=postgres', '--regid=postgres', '--init-groups', '--', command, ...args]]
      : [command, args];

  const [initCmd, initArgs] = as(path.join(binDir, 'initdb'), [
    '-D',
    data,
    '-U',
    'postgres',
    '--auth-local=trust',
    '--auth-host=scram-sha-256',
    `--pwfile=${pwfile}`,
    '--encoding=UTF8',
    '--no-sync',
  ]);
  const init = run(initCmd, initArgs, { timeoutMs: 60_000 });
  if (init.status !== 0) throw new Error(`initdb failed: ${init.output}`);

  const port = await freePort();
  const [pgCmd, pgArgs] = as(path.join(binDir, 'postgres'), [
    '-D',
    data,
    '-p',
    String(port),
    '-k',
    dir,
    '-c',
    'listen_addresses=127.0.0.1',
    '-c',
    'fsync=off',
  ]);
  // setpriv execs postgres in place, so this PID is the postmaster's: SIGTERM to it is a clean "smart" shutdown.
  const server: ChildProcess = spawn(pgCmd, pgArgs, { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  server.stderr!.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-20_000)));

  const superuser = `postgresql://postgres:${PASSWORD}@127.0.0.1:${port}/postgres`;
  const superuserQuery = async (sql: string) => {
    const client = new Client({ connectionString: superuser });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  const stop = async () => {
    if (server.pid && isAlive(server.pid)) {
      const exited = new Promise((r) => server.once('exit', r));
      server.kill('SIGINT'); // "fast" shutdown: ends open sessions instead of waiting for them
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitFor(
      async () => {
        if (server.exitCode !== null) throw new Error(`postgres exited: ${log}`);
        try {
          await superuserQuery('SELECT 1');
          return true;
        } catch {
          return false;
        }
      },
      30_000,
      'the Debian PostgreSQL server to accept connections',
    );
    await superuserQuery(`CREATE ROLE ${ROLE} LOGIN CREATEDB PASSWORD '${PASSWORD}'`);
    await superuserQuery(`CREATE DATABASE ${database} OWNER ${ROLE}`);
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    port,
    binDir,
    url: (db) => `postgresql://${ROLE}:${PASSWORD}@127.0.0.1:${port}/${db}`,
    superuserQuery,
    stop,
  };
}
