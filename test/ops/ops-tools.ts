import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { REPO } from '../support/paths';

/**
 * Helpers of the operations-kit tests (test/ops): run the real tools (promtool, nginx, haproxy, shellcheck,
 * systemd-analyze, PostgreSQL) on the files in ops/ and docker/.
 *
 * A missing tool is installed once with apt-get when running as root; if it is still missing the check FAILS with
 * what to install, unless GLOBALMCP_SKIP_MISSING_TOOLS=1, in which case it logs `SKIPPED: <tool> not installable`
 * and the caller returns early.
 */

export { REPO };
export const OPS = path.join(REPO, 'ops');
export const DOCKER = path.join(REPO, 'docker');

/** What the gateway serves (README, docs/API.md); the manifests and proxies must point at exactly these. */
export const APP = {
  apiPort: 8080,
  managementPort: 8081,
  prometheusPort: 9090,
  liveness: '/actuator/health/liveness',
  readiness: '/actuator/health/readiness',
  startup: '/actuator/health/startup',
  prometheusPath: '/actuator/prometheus',
} as const;

export interface RunResult {
  status: number | null;
  stdout: string;
  stderr: string;
  output: string;
}

export function run(
  command: string,
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number; input?: string } = {},
): RunResult {
  const result: SpawnSyncReturns<string> = spawnSync(command, args, {
    cwd: options.cwd ?? REPO,
    env: options.env ?? process.env,
    encoding: 'utf8',
    timeout: options.timeoutMs ?? 60_000,
    input: options.input,
    killSignal: 'SIGKILL',
  });
  if (result.error) throw new Error(`${command} ${args.join(' ')}: ${result.error.message}`);
  const stdout = result.stdout ?? '';
  const stderr = result.stderr ?? '';
  return { status: result.status, stdout, stderr, output: `${stdout}${stderr}` };
}

export function which(tool: string): string | undefined {
  if (tool.includes('/')) return existsSync(tool) ? tool : undefined;
  const found = spawnSync('sh', ['-c', `command -v "${tool}"`], { encoding: 'utf8' });
  const p = found.stdout?.trim();
  return found.status === 0 && p ? p : undefined;
}

let aptUpdated = false;

function aptInstall(pkg: string): string {
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const lock = ['-o', 'DPkg::Lock::Timeout=180'];
  if (!aptUpdated) {
    run('apt-get', [...lock, 'update', '-qq'], { env, timeoutMs: 300_000 });
    aptUpdated = true;
  }
  const r = run('apt-get', [...lock, 'install', '-y', '-qq', pkg], { env, timeoutMs: 600_000 });
  return r.status === 0 ? '' : r.output.trim().split('\n').slice(-3).join(' / ');
}

/**
 * The path of `tool`, installing Debian package `pkg` once when it is missing and we are root. Returns undefined
 * (after logging `SKIPPED: ...`) only when GLOBALMCP_SKIP_MISSING_TOOLS=1; otherwise a missing tool throws.
 */
export function requireTool(tool: string, pkg: string): string | undefined {
  let found = which(tool);
  let why = '';
  if (!found && process.getuid?.() === 0 && which('apt-get')) {
    why = aptInstall(pkg);
    found = which(tool);
  } else if (!found) {
    why = process.getuid?.() === 0 ? 'apt-get is not available' : 'not running as root, so it was not installed';
  }
  if (found) return found;
  if (process.env.GLOBALMCP_SKIP_MISSING_TOOLS === '1') {
    console.log(`SKIPPED: ${tool} not installable (Debian package ${pkg}${why ? `: ${why}` : ''})`);
    return undefined;
  }
  throw new Error(
    `${tool} is missing and could not be installed (${why || 'unknown reason'}). Install the Debian package "${pkg}" ` +
      `(apt-get install -y ${pkg}), or set GLOBALMCP_SKIP_MISSING_TOOLS=1 to skip this check.`,
  );
}

// ------------------------------------------------------------------------------------------------ metric names

/** Metrics the gateway exports (its own, and those the engine, database, cache, security and webhook code add). */
export const GATEWAY_METRICS = [
  'http_server_requests_seconds',
  'mcp_client_requests_total',
  'mcp_client_request_duration_seconds',
  'mcp_server_status',
  'mcp_server_restarts_total',
  'mcp_pool_queue_depth',
  'db_pool_connections_active',
  'db_pool_connections_idle',
  'db_pool_connections_max',
  'db_pool_connections_pending',
  'db_pool_connections_total',
  'cache_gets_total',
  'config_reload_failures_total',
  'config_last_reload_success',
  'config_last_reload_timestamp_seconds',
  'rate_limit_rejections_total',
  'redis_up',
  'webhook_deliveries_total',
] as const;

const HISTOGRAMS = ['http_server_requests_seconds', 'mcp_client_request_duration_seconds'];

/** Series Prometheus itself adds to every target. */
const PROMETHEUS_SYNTHETIC = ['up', 'scrape_duration_seconds', 'scrape_samples_scraped'];

/** Every series name a rule or panel may use: the gateway's, prom-client's default ones (read from prom-client), Prometheus'. */
export async function allowedSeriesNames(): Promise<Set<string>> {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const defaults = (await registry.getMetricsAsJSON()).map((m) => ({ name: m.name, type: String(m.type) }));
  registry.clear();
  const names = new Set<string>([...GATEWAY_METRICS, ...PROMETHEUS_SYNTHETIC]);
  for (const h of [...HISTOGRAMS, ...defaults.filter((d) => d.type === 'histogram').map((d) => d.name)]) {
    for (const suffix of ['_bucket', '_sum', '_count']) names.add(`${h}${suffix}`);
  }
  for (const d of defaults) names.add(d.name);
  return names;
}

const PROMQL_WORDS = new Set([
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'and',
  'or',
  'unless',
  'bool',
  'offset',
  'inf',
  'nan',
]);

/** Series names a PromQL expression reads (identifiers that are not functions, keywords or label names). */
export function seriesNamesIn(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, '""') // strings
    .replace(/\{[^}]*\}/g, ' ') // label matchers
    .replace(/\[[^\]]*\]/g, ' ') // ranges
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ') // grouping labels
    .replace(/\$\w+|\$\{[^}]*\}/g, ' '); // Grafana variables
  const names = new Set<string>();
  for (const m of stripped.matchAll(/(?<![\w.])([a-zA-Z_:][a-zA-Z0-9_:]*)(?!\w)(\s*\()?/g)) {
    const [, name, call] = m;
    if (call || PROMQL_WORDS.has(name!.toLowerCase()) || /^\d/.test(name!)) continue;
    names.add(name!);
  }
  return [...names];
}
