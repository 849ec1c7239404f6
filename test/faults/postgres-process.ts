import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, mkdtempSync, rmSync } from 'node:fs';
import path from 'node:path';
import { Client } from 'pg';
import { requireDebianPostgres } from '../ops/debian-postgres';
import { run, which } from '../ops/ops-tools';
import { freePort } from '../support/ports';
import { waitFor } from '../support/wait';

/**
 * Debian's PostgreSQL server as a child of the test, on a loopback port with trust authentication, that the drill
 * can stop and start again on the same data directory and port (a restart, an outage). As root it runs as the
 * `postgres` user. Stopped by its PID.
 */
export class PostgresProcess {
  private server: ChildProcess | undefined;
  private log = '';

  private constructor(
    private readonly binDir: string,
    private readonly dir: string,
    readonly port: number,
  ) {}

  /** undefined when Debian's server cannot be had (requireDebianPostgres says why). */
  static async create(): Promise<PostgresProcess | undefined> {
    const binDir = requireDebianPostgres();
    if (!binDir) return undefined;
    const asRoot = process.getuid?.() === 0;
    const dir = mkdtempSync(path.join('/tmp', 'globalmcp-fault-pg-'));
    if (asRoot) {
      chmodSync(dir, 0o755);
      chownSync(
        dir,
        Number(run('id', ['-u', 'postgres']).stdout.trim()),
        Number(run('id', ['-g', 'postgres']).stdout.trim()),
      );
    }
    const pg = new PostgresProcess(binDir, dir, await freePort());
    const [cmd, args] = pg.as(path.join(binDir, 'initdb'), [
      '-D',
      pg.data,
      '-U',
      'postgres',
      '-A',
      'trust',
      '--no-sync',
    ]);
    const init = run(cmd, args, { timeoutMs: 60_000 });
    if (init.status !== 0) throw new Error(`initdb failed: ${init.output}`);
    await pg.start();
    return pg;
  }

  private get data(): string {
    return path.join(this.dir, 'data');
  }

  url(database: string): string {
    return `postgresql://postgres@127.0.0.1:${this.port}/${database}`;
  }

  async query<T extends Record<string, unknown>>(database: string, sql: string, values: unknown[] = []): Promise<T[]> {
    const client = new Client({ connectionString: this.url(database) });
    await client.connect();
    try {
      return (await client.query<T>(sql, values)).rows;
    } finally {
      await client.end();
    }
  }

  async start(): Promise<void> {
    const [cmd, args] = this.as(path.join(this.binDir, 'postgres'), [
      '-D',
      this.data,
      '-p',
      String(this.port),
      '-k',
      this.dir,
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      'fsync=off',
    ]);
    const server = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    server.stderr!.on('data', (d: Buffer) => (this.log = (this.log + d.toString()).slice(-20_000)));
    this.server = server;
    await waitFor(
      async () => {
        if (server.exitCode !== null) throw new Error(`postgres exited: ${this.log}`);
        await this.query('postgres', 'SELECT 1');
        return true;
      },
      30_000,
      'PostgreSQL to accept connections',
      100,
    );
  }

  /** A fast shutdown (SIGINT: open sessions are ended), waiting for the exit. */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server || server.exitCode !== null || server.signalCode !== null) return;
    const exited = new Promise((resolve) => server.once('exit', resolve));
    server.kill('SIGINT');
    await exited;
  }

  async destroy(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }

  private as(command: string, args: string[]): [string, string[]] {
    return process.getuid?.() === 0
      ? [which('setpriv')!, ['--reuid=postgres', '--regid=postgres', '--init-groups', '--', command, ...args]]
      : [command, args];
  }
}
