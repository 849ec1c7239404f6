import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { TEST_ADMIN_KEY } from './auth';
import { MAIN, REPO, requireBuild } from './paths';
import { freePort } from './ports';
import { descendantsOf, isAlive } from './processes';
import { waitFor } from './wait';

/** A built gateway (`node dist/src/main.js`) run as a child process, as a replica or a process to kill would be. */
export interface SpawnedGateway {
  child: ChildProcess;
  /** Its own temp dir: the config file and the data dir (`GLOBALMCP_DATA_DIR`). */
  dir: string;
  api: string;
  management: string;
  /** The Prometheus scrape listener. */
  metrics: string;
  ports: { api: number; management: number; metrics: number };
  /** stdout and stderr so far (the last 200 kB). */
  output(): string;
  /** The gateway and every process under it now (read before a kill -9, which orphans them). */
  processTree(): number[];
  /** SIGTERM, SIGKILL after `graceMs`; then SIGKILL to anything left of its tree; removes its dir. */
  stop(graceMs?: number): Promise<void>;
}

export interface SpawnGatewayOptions {
  databaseUrl: string;
  /** YAML of its config file (`GLOBALMCP_CONFIG`), e.g. `mcp.servers`. */
  yaml?: string;
  /** YAML of a second config file in its dir (`GLOBALMCP_CONFIG=application.yml,<extraFileName>`), to edit and reload. */
  extraYaml?: string;
  /** Name of that file; `servers.yml` by default. */
  extraFileName?: string;
  /** Rate limiting as the config says (default: off, so that a test's bursts are not refused). */
  configuredRateLimits?: boolean;
  /** More environment (relaxed config keys such as `MCP_EXECUTIONS_HEARTBEAT_INTERVAL`). */
  env?: Record<string, string>;
  /** Extra readiness beyond `/actuator/health/readiness`, e.g. a server's tools listed. */
  readyWhen?: (gateway: SpawnedGateway) => Promise<boolean>;
  readyTimeoutMs?: number;
}

/** Gateways of one test file share the key of secrets at rest, as replicas must (webhook and server secrets). */
const SHARED_ENCRYPTION_KEY = randomBytes(32).toString('base64');

/**
 * Starts a gateway on free loopback ports with the test admin key, rate limiting off and the given database, and
 * resolves once it is ready (and `readyWhen` holds). Its output is in the error when it does not get there.
 */
export async function spawnGateway(options: SpawnGatewayOptions): Promise<SpawnedGateway> {
  requireBuild();
  const dir = mkdtempSync(path.join(tmpdir(), 'globalmcp-child-'));
  const config = path.join(dir, 'application.yml');
  writeFileSync(config, options.yaml ?? '{}\n');
  const configFiles = [config];
  if (options.extraYaml !== undefined) {
    const extra = path.join(dir, options.extraFileName ?? 'servers.yml');
    writeFileSync(extra, options.extraYaml);
    configFiles.push(extra);
  }
  const ports = { api: await freePort(), management: await freePort(), metrics: await freePort() };
  const env = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? dir,
    GLOBALMCP_CONFIG: configFiles.join(','),
    GLOBALMCP_DATA_DIR: path.join(dir, 'data'),
    GLOBALMCP_ADMIN_API_KEY: TEST_ADMIN_KEY,
    GLOBALMCP_ENCRYPTION_KEY: SHARED_ENCRYPTION_KEY,
    DATABASE_URL: options.databaseUrl,
    SERVER_ADDRESS: '127.0.0.1',
    SERVER_PORT: String(ports.api),
    MANAGEMENT_SERVER_PORT: String(ports.management),
    MANAGEMENT_PROMETHEUS_PORT: String(ports.metrics),
    MCP_SHUTDOWN_DRAIN_DELAY: '0', // no balancer watches these; a test that needs the drain sets it
    ...(options.configuredRateLimits ? {} : { MCP_SECURITY_RATE_LIMITING_ENABLED: 'false' }),
    ...options.env,
  };
  const child = spawn(process.execPath, [MAIN], { cwd: REPO, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const collect = (d: Buffer) => (output = (output + d.toString()).slice(-200_000));
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);
  const seen = new Set<number>();
  const processTree = () => {
    const tree = [child.pid!, ...descendantsOf(child.pid!)];
    for (const pid of tree) seen.add(pid);
    return tree;
  };
  const gateway: SpawnedGateway = {
    child,
    dir,
    api: `http://127.0.0.1:${ports.api}`,
    management: `http://127.0.0.1:${ports.management}`,
    metrics: `http://127.0.0.1:${ports.metrics}`,
    ports,
    output: () => output,
    processTree,
    stop: async (graceMs = 15_000) => {
      if (child.exitCode === null && child.signalCode === null) {
        processTree();
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([exited, new Promise((resolve) => (timer = setTimeout(resolve, graceMs)))]);
        clearTimeout(timer);
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      }
      // What it started and had not reaped (after a kill -9 above all): by PID, as read while it ran.
      for (const pid of seen) if (pid !== child.pid && isAlive(pid)) process.kill(pid, 'SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    await waitFor(
      async () => {
        if (child.exitCode !== null) throw new Error(`exited with ${child.exitCode}`);
        if ((await fetch(`${gateway.management}/actuator/health/readiness`)).status !== 200) return false;
        return options.readyWhen ? options.readyWhen(gateway) : true;
      },
      options.readyTimeoutMs ?? 90_000,
      'the child gateway to be ready',
    );
  } catch (error) {
    await gateway.stop(5_000);
    throw new Error(`${(error as Error).message}\n--- gateway output ---\n${output.slice(-4000)}`, { cause: error });
  }
  processTree();
  return gateway;
}

/** `readyWhen`: the server `serverId` lists at least one tool. */
export const toolsListed =
  (serverId: string, headers: Record<string, string>) =>
  async (gateway: SpawnedGateway): Promise<boolean> => {
    const res = await fetch(`${gateway.api}/api/tools?server_id=${serverId}`, { headers });
    return res.ok && ((await res.json()) as { total_count: number }).total_count > 0;
  };
