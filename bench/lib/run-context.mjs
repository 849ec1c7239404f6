// What every phase of `npm run bench` (bench/run.mjs) shares: the options from the command line, the run's marker,
// credentials and temp dir, and the log. The temp dir is made by initRun(), after run.mjs has dispatched `--soak`.
import { chmodSync, mkdtempSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { BENCH_DIR } from './common.mjs';
import { newHs256Secret } from '../auth-paths.mjs';

export const flags = new Set(process.argv.slice(2).filter((a) => a.startsWith('--')));
export const argValue = (name, fallback) => {
  const i = process.argv.indexOf(name);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
};
export const QUICK = flags.has('--quick');
export const OPTS = {
  profile: flags.has('--profile'),
  pool2: !flags.has('--no-pool2'),
  platform: !flags.has('--no-platform'),
  mcpEndpoint: !flags.has('--no-mcp-endpoint'),
  authPaths: !flags.has('--no-auth-paths'),
  tracing: !flags.has('--no-tracing'),
  authOnly: flags.has('--auth-only'),
  tracingOnly: flags.has('--tracing-only'),
  // A build to run instead of a snapshot of dist/ (e.g. an older commit built elsewhere, for before/after figures).
  dist: argValue('--dist', null),
  profileWith: argValue('--profile-with', 'key'),
  profileTracing: flags.has('--profile-tracing'),
  logLevel: argValue('--log-level', 'INFO'),
  seconds: QUICK ? 2 : 5,
  warmupSeconds: QUICK ? 1 : 3,
  sequential: QUICK ? 500 : 2000,
  concurrency: [1, 16, 64],
  rssServers: 10,
  heapCapMb: flags.has('--no-heap-cap') ? 0 : Number(argValue('--heap-cap', '128')),
  profileSeconds: Number(argValue('--profile-seconds', QUICK ? '4' : '10')),
  // How long to wait for V8's memory reducer after start and after load (0: not measured).
  settleSeconds: QUICK ? 0 : 150,
};
export const RESULTS_DIR = path.join(BENCH_DIR, 'results');
export const SNAPSHOT_DIR = path.join(BENCH_DIR, '.cache');
const RUN_ID = `${process.pid}-${Date.now()}`;
export const MARKER = `GLOBALMCP_BENCH_RUN=${RUN_ID}`;
// Authentication is on by default: the gateway's bootstrap admin key (GLOBALMCP_ADMIN_API_KEY) for every API call.
export const API_KEY = `gmcp_${randomBytes(32).toString('base64url')}`;
export const AUTH = { 'x-api-key': API_KEY };
// Bearer tokens are accepted too: HS256 with this secret, RS256 from the OpenID Provider the run starts.
export const HS256_SECRET = newHs256Secret();
/** Set by the orchestrator once the OpenID Provider is up (the gateways' configuration names it as the issuer). */
export const state = { oidc: null };
export const TARGETS = { addedP50Ms: 1, addedP99Ms: 5, throughputRatio16: 0.35, rssMb: 150 };

export const log = (msg) => process.stdout.write(`[bench +${((performance.now() - T0) / 1000).toFixed(1)}s] ${msg}\n`);
export const T0 = performance.now();

/** The run's temp root (configs, logs, data dirs, profiles); set by initRun(). */
export let TEMP = null;

/** Makes the temp root, readable by the `postgres` user (the embedded PostgreSQL runs as it when we are root). */
export function initRun() {
  TEMP = mkdtempSync(path.join(os.tmpdir(), 'globalmcp-bench-'));
  chmodSync(TEMP, 0o755);
  return TEMP;
}
