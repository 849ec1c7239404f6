import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { TEST_ADMIN_KEY } from '../support/auth';
import { MAIN, REPO, requireBuild } from '../support/paths';
import { freePort } from '../support/ports';
import { descendantsOf } from '../support/processes';
import { waitFor } from '../support/wait';

export interface ReplicaOptions {
  databaseUrl: string;
  redisUrl: string;
  yaml: string;
  /** The same for every replica of a drill: secrets at rest are shared. */
  encryptionKey: string;
  drainDelayMs: number;
}

/**
 * One built gateway (`node dist/src/main.js`) on fixed loopback ports, so that it can be killed and started again
 * where the balancer expects it. Every process it ever had (itself, its MCP children) is remembered for the
 * orphan check.
 */
export class Replica {
  private child: ChildProcess | undefined;
  private log = '';
  readonly seen = new Set<number>();

  private constructor(
    readonly name: string,
    private readonly dir: string,
    readonly apiPort: number,
    readonly managementPort: number,
    private readonly metricsPort: number,
    private readonly options: ReplicaOptions,
  ) {}

  static async create(name: string, options: ReplicaOptions): Promise<Replica> {
    requireBuild();
    const dir = mkdtempSync(path.join(tmpdir(), `globalmcp-fault-${name}-`));
    writeFileSync(path.join(dir, 'application.yml'), options.yaml);
    return new Replica(name, dir, await freePort(), await freePort(), await freePort(), options);
  }

  get output(): string {
    return this.log;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Starts it and resolves once readiness answers 200. */
  async start(): Promise<void> {
    const env = {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? this.dir,
      GLOBALMCP_CONFIG: path.join(this.dir, 'application.yml'),
      GLOBALMCP_DATA_DIR: path.join(this.dir, 'data'),
      GLOBALMCP_ADMIN_API_KEY: TEST_ADMIN_KEY,
      GLOBALMCP_ENCRYPTION_KEY: this.options.encryptionKey,
      DATABASE_URL: this.options.databaseUrl,
      REDIS_URL: this.options.redisUrl,
      SERVER_ADDRESS: '127.0.0.1',
      SERVER_PORT: String(this.apiPort),
      MANAGEMENT_SERVER_PORT: String(this.managementPort),
      MANAGEMENT_PROMETHEUS_PORT: String(this.metricsPort),
      MCP_SECURITY_RATE_LIMITING_ENABLED: 'false',
      MCP_SHUTDOWN_DRAIN_DELAY: String(this.options.drainDelayMs),
    };
    const child = spawn(process.execPath, [MAIN], { cwd: REPO, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const collect = (d: Buffer) => (this.log = (this.log + d.toString()).slice(-100_000));
    child.stdout!.on('data', collect);
    child.stderr!.on('data', collect);
    this.child = child;
    this.seen.add(child.pid!);
    await waitFor(
      async () => {
        if (child.exitCode !== null) throw new Error(`${this.name} exited ${child.exitCode}`);
        return (await fetch(`http://127.0.0.1:${this.managementPort}/actuator/health/readiness`)).status === 200;
      },
      60_000,
      `${this.name} to be ready`,
      100,
    ).catch((error: Error) => {
      throw new Error(`${error.message}\n--- ${this.name} output ---\n${this.log.slice(-4000)}`);
    });
  }

  /** Its process and descendants now (and remembered for the orphan check). */
  processTree(): number[] {
    const pid = this.child?.pid;
    if (!pid || this.child?.exitCode !== null || this.child.signalCode !== null) return [];
    const tree = [pid, ...descendantsOf(pid)];
    for (const p of tree) this.seen.add(p);
    return tree;
  }

  /** Sends `signal` and waits for the exit (SIGKILL after `timeoutMs`). */
  async kill(signal: NodeJS.Signals, timeoutMs = 40_000): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    this.processTree();
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    await exited;
    clearTimeout(timer);
  }

  async destroy(): Promise<void> {
    await this.kill('SIGTERM', 15_000);
    rmSync(this.dir, { recursive: true, force: true });
  }
}
