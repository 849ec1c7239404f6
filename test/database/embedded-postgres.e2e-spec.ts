import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { EmbeddedPostgresService } from 'src/database/embedded-postgres.service';

const quiet = { log() {}, warn() {}, error() {}, debug() {}, verbose() {} };
const CHILD = path.join(__dirname, 'fixtures', 'embedded-postgres-child.js');

/** PIDs of processes whose command line mentions `needle` (the postmaster runs with `-D <dataDir>/postgres`). */
function processesMentioning(needle: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(needle)) found.push(Number(entry));
    } catch {
      // exited while we looked
    }
  }
  return found;
}

/** PIDs whose parent is `pid` (the postmaster's checkpointer, walwriter... rename themselves). */
function childrenOf(pid: number): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) found.push(Number(entry));
    } catch {
      // exited while we looked
    }
  }
  return found;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function waitUntil(condition: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (condition()) return true;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return condition();
}

async function query(url: string, sql: string): Promise<unknown[]> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql)).rows;
  } finally {
    await client.end();
  }
}

describe('EmbeddedPostgresService', () => {
  let tmp: string;
  const started: EmbeddedPostgresService[] = [];

  beforeAll(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'globalmcp-embedded-'));
    // As root, PostgreSQL runs as the postgres user, which must be able to traverse the temp dir.
    await chmod(tmp, 0o755);
  });

  afterAll(async () => {
    for (const service of started) await service.stop();
    for (const pid of processesMentioning(tmp)) process.kill(pid, 'SIGKILL');
    await rm(tmp, { recursive: true, force: true });
  });

  it('initialises, serves the globalmcp database, and keeps its data across a stop and a start', async () => {
    const dataDir = path.join(tmp, 'keep');
    const service = new EmbeddedPostgresService({ dataDir, durable: false, logger: quiet });
    started.push(service);

    const url = await service.start();
    expect(new URL(url).pathname).toBe('/globalmcp');
    expect(new URL(url).hostname).toBe('127.0.0.1');
    await query(url, "CREATE TABLE kept (v text); INSERT INTO kept VALUES ('still here')");
    const firstPid = service.pid!;
    expect(processesMentioning(dataDir)).toContain(firstPid);

    await service.stop();
    expect(alive(firstPid)).toBe(false);
    expect(processesMentioning(dataDir)).toEqual([]);
    expect(childrenOf(firstPid)).toEqual([]);

    const again = await service.start();
    expect(await query(again, 'SELECT v FROM kept')).toEqual([{ v: 'still here' }]);
    await service.stop();
    expect(processesMentioning(dataDir)).toEqual([]);
  });

  const asRoot = process.getuid?.() === 0;
  (asRoot ? it : it.skip)(
    'as root, starts under a private (0700) parent the postgres user cannot traverse',
    async () => {
      const privateParent = path.join(tmp, 'private');
      await mkdir(privateParent, { mode: 0o700 });
      await chmod(privateParent, 0o700);
      const dataDir = path.join(privateParent, 'data');
      const service = new EmbeddedPostgresService({ dataDir, durable: false, logger: quiet });
      started.push(service);
      const url = await service.start();
      await query(url, "CREATE TABLE kept (v text); INSERT INTO kept VALUES ('private')");
      // A user namespace maps root to the postgres user: the cluster's files stay root's, in root's private dir.
      expect(statSync(path.join(dataDir, 'postgres', 'PG_VERSION')).uid).toBe(0);
      await service.stop();
      expect(processesMentioning(privateParent)).toEqual([]);
      // The next start reads the cluster's mode from its files and keeps the data.
      const again = await service.start();
      expect(await query(again, 'SELECT v FROM kept')).toEqual([{ v: 'private' }]);
      await service.stop();
      expect(processesMentioning(privateParent)).toEqual([]);
    },
  );

  it('returns the same URL when start() is called while running, and stop() twice is harmless', async () => {
    const service = new EmbeddedPostgresService({ dataDir: path.join(tmp, 'twice'), durable: false, logger: quiet });
    started.push(service);
    const [a, b] = await Promise.all([service.start(), service.start()]);
    expect(a).toBe(b);
    expect(await service.start()).toBe(a);
    await service.stop();
    await service.stop();
  });

  it('refuses a data directory whose PostgreSQL a live process still runs, and leaves that one serving', async () => {
    const dataDir = path.join(tmp, 'shared');
    const owner = new EmbeddedPostgresService({ dataDir, durable: false, logger: quiet });
    started.push(owner);
    const url = await owner.start();
    const intruder = new EmbeddedPostgresService({ dataDir, durable: false, logger: quiet });
    await expect(intruder.start()).rejects.toThrow(/in use by another running process/);
    expect(await query(url, 'SELECT 1 AS ok')).toEqual([{ ok: 1 }]);
    await owner.stop();
  });

  it('starts over a stale postmaster.pid whose process is gone', async () => {
    const dataDir = path.join(tmp, 'stale');
    const service = new EmbeddedPostgresService({ dataDir, durable: false, logger: quiet });
    started.push(service);
    await service.start();
    await service.stop();
    // What a crash leaves: a lock file naming a PID that is not a postgres (here: this test process, alive but no postgres).
    writeFileSync(
      path.join(dataDir, 'postgres', 'postmaster.pid'),
      `${process.pid}\n${path.join(dataDir, 'postgres')}\n0\n5432\n\n127.0.0.1\n0 0\nready   \n`,
    );
    const url = await service.start();
    expect(await query(url, 'SELECT 1 AS ok')).toEqual([{ ok: 1 }]);
    await service.stop();
  });

  describe('in a child Node process', () => {
    const children: ChildProcess[] = [];
    afterAll(() => {
      for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });

    async function startChild(
      dataDir: string,
      mode: 'graceful' | 'bare',
    ): Promise<{ child: ChildProcess; postgresPid: number }> {
      const child = spawn(process.execPath, [CHILD, dataDir, mode], { stdio: ['ignore', 'pipe', 'pipe'] });
      children.push(child);
      let stderr = '';
      child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const line = await new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout?.on('data', (chunk: Buffer) => {
          out += chunk.toString();
          if (out.includes('\n')) resolve(out.split('\n')[0]!);
        });
        child.on('exit', (code) => reject(new Error(`child exited (${code}) before ready: ${stderr}`)));
      });
      const { pid } = JSON.parse(line) as { pid: number };
      expect(alive(pid)).toBe(true);
      return { child, postgresPid: pid };
    }

    const exited = (child: ChildProcess) =>
      new Promise<void>((resolve) =>
        child.exitCode !== null || child.signalCode !== null ? resolve() : child.once('exit', () => resolve()),
      );

    it('stops PostgreSQL when the child handles SIGTERM by stopping the service', async () => {
      const dataDir = path.join(tmp, 'child');
      const { child, postgresPid } = await startChild(dataDir, 'graceful');
      child.kill('SIGTERM');
      await exited(child);
      expect(child.exitCode).toBe(0);
      expect(alive(postgresPid)).toBe(false);
      expect(processesMentioning(dataDir)).toEqual([]);
    });

    it('leaves no PostgreSQL behind when SIGTERM kills a child that has no handler (the watchdog stops it)', async () => {
      const dataDir = path.join(tmp, 'child');
      const { child, postgresPid } = await startChild(dataDir, 'bare');
      child.kill('SIGTERM');
      await exited(child);
      expect(child.signalCode).toBe('SIGTERM');
      expect(await waitUntil(() => !alive(postgresPid), 10_000)).toBe(true);
      expect(await waitUntil(() => processesMentioning(dataDir).length === 0, 5000)).toBe(true);
    });

    it('leaves no PostgreSQL behind when the child is killed with SIGKILL', async () => {
      const dataDir = path.join(tmp, 'child');
      const { child, postgresPid } = await startChild(dataDir, 'bare');
      child.kill('SIGKILL');
      await exited(child);
      expect(await waitUntil(() => !alive(postgresPid), 10_000)).toBe(true);
      expect(await waitUntil(() => processesMentioning(dataDir).length === 0, 5000)).toBe(true);
    });

    it('takes over from a PostgreSQL orphaned together with its watchdog', async () => {
      const dataDir = path.join(tmp, 'child');
      const { child, postgresPid } = await startChild(dataDir, 'bare');
      // Kill the watchdog first, then Node: PostgreSQL is now an orphan still holding the data directory.
      for (const pid of processesMentioning('globalmcp-pg-watchdog')) {
        const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
        if (args.includes(String(postgresPid))) process.kill(pid, 'SIGKILL');
      }
      child.kill('SIGKILL');
      await exited(child);
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(alive(postgresPid)).toBe(true);

      const service = new EmbeddedPostgresService({ dataDir, durable: false, logger: quiet });
      started.push(service);
      const url = await service.start();
      expect(alive(postgresPid)).toBe(false);
      expect(await query(url, 'SELECT 1 AS ok')).toEqual([{ ok: 1 }]);
      await service.stop();
      expect(processesMentioning(dataDir)).toEqual([]);
    });
  });
});
