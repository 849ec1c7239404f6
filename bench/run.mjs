#!/usr/bin/env node
// globalmcp benchmark: the `echo` tool of server-everything called directly with the MCP SDK client over stdio and
// through the gateway's REST API, in one run; plus gateway RSS with 10 stdio servers, time to ready, and the
// Fastify-vs-Express platform check. Every party runs in its own process:
//
//   this orchestrator ─┬─ direct-load.mjs (SDK client = load generator) ── server-everything
//                      ├─ gateway (node dist/src/main.js) ─┬─ server-everything ×N, embedded PostgreSQL, watchdogs
//                      ├─ gateway-load.mjs (autocannon = load generator)
//                      ├─ oidc-issuer.mjs (a real OpenID Provider), bare-proxy.mjs (the bare-proxy limit)
//                      └─ platform.mjs (Nest ping servers + autocannon)
//
// Usage: node bench/run.mjs [--profile] [--quick] [--build] [--no-pool2] [--no-platform] [--no-mcp-endpoint]
//                           [--no-auth-paths] [--auth-only] [--dist DIR] [--profile-with key|hs256|rs256]
//                           [--log-level INFO]
//                           [--keep-temp]
// Writes bench/results/latest.json and latest.md (and profile-summary.md with --profile); --auth-only (the caller
// phase alone) writes auth-only.json and auth-only.md instead (and auth-only-profile.md with --profile).
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import {
  chmodSync,
  closeSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import {
  BENCH_DIR,
  EVERYTHING,
  ROOT,
  descendants,
  freePort,
  getJson,
  killGroup,
  killIfSame,
  processesOfRun,
  procStat,
  round1,
  round3,
  sleep,
  sleepUnref,
  statusMb,
  waitFor,
} from './lib/common.mjs';
import { summarizeProfile } from './lib/profile.mjs';
import { measureMcpFrontDoor, renderMcpFrontDoor } from './mcp-endpoint.mjs';
import {
  authVerdicts,
  authYaml,
  hs256Token,
  measureAuthPaths,
  newHs256Secret,
  oidcAccessToken,
  renderAuthPaths,
  startOidcIssuer,
} from './auth-paths.mjs';

// ------------------------------------------------------------------------------------------------ options

const flags = new Set(process.argv.slice(2).filter((a) => a.startsWith('--')));
const argValue = (name, fallback) => {
  const i = process.argv.indexOf(name);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
};
const QUICK = flags.has('--quick');
const OPTS = {
  profile: flags.has('--profile'),
  pool2: !flags.has('--no-pool2'),
  platform: !flags.has('--no-platform'),
  mcpEndpoint: !flags.has('--no-mcp-endpoint'),
  authPaths: !flags.has('--no-auth-paths'),
  authOnly: flags.has('--auth-only'),
  // A build to run instead of a snapshot of dist/ (e.g. an older commit built elsewhere, for before/after figures).
  dist: argValue('--dist', null),
  profileWith: argValue('--profile-with', 'key'),
  logLevel: argValue('--log-level', 'INFO'),
  seconds: QUICK ? 2 : 5,
  warmupSeconds: QUICK ? 1 : 3,
  sequential: QUICK ? 500 : 2000,
  concurrency: [1, 16, 64],
  rssServers: 10,
  heapCapMb: flags.has('--no-heap-cap') ? 0 : Number(argValue('--heap-cap', '128')),
  profileSeconds: QUICK ? 4 : 10,
  // How long to wait for V8's memory reducer after start and after load (0: not measured).
  settleSeconds: QUICK ? 0 : 150,
};
const RESULTS_DIR = path.join(BENCH_DIR, 'results');
const SNAPSHOT_DIR = path.join(BENCH_DIR, '.cache');
const RUN_ID = `${process.pid}-${Date.now()}`;
const MARKER = `GLOBALMCP_BENCH_RUN=${RUN_ID}`;
// Authentication is on by default: the gateway's bootstrap admin key (GLOBALMCP_ADMIN_API_KEY) for every API call.
const API_KEY = `gmcp_${randomBytes(32).toString('base64url')}`;
const AUTH = { 'x-api-key': API_KEY };
// Bearer tokens are accepted too: HS256 with this secret, RS256 from the OpenID Provider the run starts.
const HS256_SECRET = newHs256Secret();
let oidc = null;
const TARGETS = { addedP50Ms: 1, addedP99Ms: 5, throughputRatio16: 0.35, rssMb: 150 };

const log = (msg) => process.stdout.write(`[bench +${((performance.now() - T0) / 1000).toFixed(1)}s] ${msg}\n`);
const T0 = performance.now();

// Temp root readable by the `postgres` user (the embedded PostgreSQL runs as it when we are root).
const TEMP = mkdtempSync(path.join(os.tmpdir(), 'globalmcp-bench-'));
chmodSync(TEMP, 0o755);

/** Every child this script spawned (each leads its own process group). */
const tracked = new Set();
/** Every descendant of a gateway ever seen (pid + start time), killed at the end if still there. */
const seenDescendants = new Map();

// ------------------------------------------------------------------------------------------ child processes

function spawnTracked(command, args, options) {
  const child = spawn(command, args, { ...options, detached: true });
  tracked.add(child);
  child.exitPromise = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  child.exitPromise.then(() => tracked.delete(child));
  return child;
}

/** Runs a bench worker script as a child; resolves to its JSON output. `onLine` sees its stdout lines. */
async function runWorker(script, options, onLine) {
  const out = path.join(TEMP, `${path.basename(script, '.mjs')}-${Date.now()}.json`);
  const child = spawnTracked(process.execPath, [path.join(BENCH_DIR, script), JSON.stringify(options), out], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  createInterface({ input: child.stdout }).on('line', (line) => onLine?.(line));
  const { code } = await child.exitPromise;
  const result = existsSync(out) ? JSON.parse(readFileSync(out, 'utf8')) : { error: `no output (exit ${code})` };
  if (result.error) throw new Error(`${script} failed: ${result.error}`);
  return result;
}

function cleanEnv() {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) {
    // Nothing from the caller's shell may reconfigure the gateway under test.
    if (/^(SERVER_|MANAGEMENT_|MCP_|SPRING_|GLOBALMCP_|LOGGING_|DATABASE_URL|REDIS_URL|JWT_|NODE_OPTIONS)/.test(k))
      continue;
    env[k] = v;
  }
  return env;
}

function gatewayYaml({ apiPort, mgmtPort, dataDir, servers }) {
  const [markerKey, markerValue] = MARKER.split('=');
  const auth = authYaml({ hs256Secret: HS256_SECRET, oidcIssuer: oidc?.issuer });
  const lines = [
    'server:',
    `  port: ${apiPort}`,
    '  address: 127.0.0.1',
    'management:',
    '  server:',
    `    port: ${mgmtPort}`,
    '  prometheus:',
    '    port: 0',
    'logging:',
    '  level:',
    `    root: ${OPTS.logLevel}`,
    'mcp:',
    `  data-dir: ${JSON.stringify(dataDir)}`,
    '  security:',
    ...auth.jwt,
    '    rate-limiting:',
    '      enabled: false',
    '  servers:',
  ];
  for (const server of servers) {
    lines.push(
      `    ${server.id}:`,
      '      type: stdio',
      `      command: ${JSON.stringify(process.execPath)}`,
      `      args: [${JSON.stringify(EVERYTHING)}, stdio]`,
      `      pool-size: ${server.poolSize ?? 1}`,
      '      environment:',
      `        ${markerKey}: ${JSON.stringify(markerValue)}`,
    );
  }
  lines.push(...auth.spring);
  return `${lines.join('\n')}\n`;
}

/**
 * Starts the built gateway as a child process (its own process group) and waits for readiness, then for every
 * server to be active with tools. Returns timings from spawn.
 */
async function startGateway({ name, dataDir, servers, cpuProfDir, heapCapMb }) {
  const apiPort = await freePort();
  const mgmtPort = await freePort();
  const configFile = path.join(TEMP, `${name}.yml`);
  writeFileSync(configFile, gatewayYaml({ apiPort, mgmtPort, dataDir, servers }));
  const logFile = path.join(TEMP, `${name}.log`);
  const logFd = openSync(logFile, 'w');
  const env = {
    ...cleanEnv(),
    SERVER_PORT: String(apiPort),
    MANAGEMENT_SERVER_PORT: String(mgmtPort),
    MANAGEMENT_PROMETHEUS_PORT: '0',
    GLOBALMCP_DATA_DIR: dataDir,
    GLOBALMCP_ADMIN_API_KEY: API_KEY,
    [MARKER.split('=')[0]]: MARKER.split('=')[1],
  };
  const nodeArgs = [
    ...(cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${cpuProfDir}`] : []),
    ...(heapCapMb ? [`--max-old-space-size=${heapCapMb}`] : []),
  ];
  const spawnedAt = performance.now();
  const spawnedUs = process.hrtime.bigint() / 1000n;
  const child = spawnTracked(
    process.execPath,
    [...nodeArgs, path.join(distDir(), 'src/main.js'), '--config', configFile],
    {
      cwd: ROOT,
      env,
      stdio: ['ignore', logFd, logFd],
    },
  );
  closeSync(logFd);
  const gw = {
    name,
    child,
    pid: child.pid,
    api: `http://127.0.0.1:${apiPort}`,
    mgmt: `http://127.0.0.1:${mgmtPort}`,
    logFile,
    spawnedUs,
  };
  let exited = null;
  child.exitPromise.then((e) => (exited = e));
  const alive = () => {
    if (exited) {
      const tail = readFileSync(logFile, 'utf8').split('\n').slice(-25).join('\n');
      throw new Error(`gateway ${name} exited (${JSON.stringify(exited)}) before it was ready:\n${tail}`);
    }
  };
  try {
    await waitFor(
      async () => {
        alive();
        return (await getJson(`${gw.mgmt}/actuator/health/readiness`, 1000)).status === 200;
      },
      { timeoutMs: 90_000, intervalMs: 20, what: `${name} readiness` },
    );
    gw.readyMs = performance.now() - spawnedAt;
    await waitFor(
      async () => {
        alive();
        const { body } = await getJson(`${gw.api}/api/servers?limit=100`, 2000, AUTH);
        const active = (body?.servers ?? []).filter((s) => s.status === 'active' && s.capabilities?.tools > 0);
        if (active.length < servers.length) return false;
        const tools = await getJson(`${gw.api}/api/tools?server_id=${servers[0].id}`, 2000, AUTH);
        return tools.body?.tools?.some((t) => t.name === 'echo');
      },
      { timeoutMs: 90_000, intervalMs: 20, what: `${name}: ${servers.length} server(s) active with tools` },
    );
  } catch (error) {
    alive();
    throw error;
  }
  gw.activeMs = performance.now() - spawnedAt;
  rememberDescendants(gw);
  return gw;
}

function rememberDescendants(gw) {
  for (const d of descendants(gw.pid)) seenDescendants.set(`${d.pid}:${d.start}`, d);
}

/** SIGTERM (graceful: the gateway stops its MCP children and PostgreSQL), SIGKILL of its group after 20 s. */
async function stopGateway(gw) {
  if (!gw || gw.stopped) return;
  gw.stopped = true;
  rememberDescendants(gw);
  const t0 = performance.now();
  try {
    process.kill(gw.pid, 'SIGTERM');
  } catch {
    // already gone
  }
  const outcome = await Promise.race([gw.child.exitPromise, sleepUnref(20_000).then(() => null)]);
  if (!outcome) {
    log(`gateway ${gw.name} did not stop within 20 s: SIGKILL to its process group`);
    killGroup(gw.pid);
    await gw.child.exitPromise;
  }
  gw.stopMs = performance.now() - t0;
  gw.exit = outcome;
  // Anything it left behind (it should leave nothing) is killed by PID.
  await sleep(200);
  for (const d of seenDescendants.values()) killIfSame(d);
}

async function cleanupAll() {
  for (const child of [...tracked]) {
    if (child.exitCode === null && child.signalCode === null) killGroup(child.pid);
  }
  for (const d of seenDescendants.values()) killIfSame(d);
  let left = [];
  for (let i = 0; i < 20; i++) {
    left = processesOfRun(MARKER, TEMP);
    if (left.length === 0) break;
    for (const p of left) killIfSame(p);
    await sleep(250);
  }
  return left;
}

// ------------------------------------------------------------------------------------------------ phases

/** The build the gateways run: --dist, or the snapshot of dist/. */
const distDir = () => (OPTS.dist ? path.resolve(OPTS.dist) : path.join(SNAPSHOT_DIR, 'dist'));

function buildIfNeeded() {
  const main = path.join(ROOT, 'dist/src/main.js');
  if (existsSync(main) && !flags.has('--build')) return;
  log('building (npm run build)');
  const r = spawnSync('npm', ['run', 'build', '--silent'], { cwd: ROOT, stdio: 'inherit' });
  if (r.status !== 0) throw new Error('npm run build failed');
}

/**
 * Copies dist/ to bench/.cache/dist and runs the gateway from the copy: a rebuild of dist/ by someone else during
 * the run (tsc first writes unaliased `require("src/...")`, then tsc-alias rewrites them) must not break or change
 * the gateway half-way. Node still resolves node_modules from the project root above bench/.cache/.
 */
async function snapshotDist() {
  const target = path.join(SNAPSHOT_DIR, 'dist');
  for (let attempt = 1; ; attempt++) {
    rmSync(target, { recursive: true, force: true });
    mkdirSync(SNAPSHOT_DIR, { recursive: true });
    cpSync(path.join(ROOT, 'dist'), target, { recursive: true });
    const problem = checkBuild(target);
    if (!problem) return;
    if (attempt >= 10) throw new Error(`dist/ is not a complete build (${problem}): run npm run build`);
    log(`dist/ looks mid-build (${problem}); retrying in 3 s`);
    await sleep(3000);
  }
}

function checkBuild(dir) {
  if (!existsSync(path.join(dir, 'src/main.js'))) return 'no src/main.js';
  const stack = [path.join(dir, 'src')];
  while (stack.length) {
    const current = stack.pop();
    for (const entry of readdirSync(current, { withFileTypes: true })) {
      const full = path.join(current, entry.name);
      if (entry.isDirectory()) stack.push(full);
      else if (entry.name.endsWith('.js') && /require\("src\//.test(readFileSync(full, 'utf8'))) {
        return `unresolved path alias in ${path.relative(dir, full)}`;
      }
    }
  }
  return null;
}

async function measureDirect() {
  log(
    `direct: SDK client + server-everything (stdio), ${OPTS.sequential} sequential calls, then ${OPTS.concurrency.join('/')} callers × ${OPTS.seconds} s`,
  );
  return runWorker('direct-load.mjs', {
    marker: MARKER,
    warmupCalls: 1000,
    warmupSeconds: OPTS.warmupSeconds,
    sequential: OPTS.sequential,
    concurrency: OPTS.concurrency,
    seconds: OPTS.seconds,
  });
}

function gatewaySteps(connectionsList) {
  return [
    { name: 'warmup', connections: 16, seconds: OPTS.warmupSeconds },
    { name: 'sequential', connections: 1, amount: OPTS.sequential },
    ...connectionsList.map((c) => ({ name: `c${c}`, connections: c, seconds: OPTS.seconds })),
  ];
}

async function measureGateway(gw, connectionsList) {
  const rssBefore = statusMb(gw.pid);
  const result = await runWorker('gateway-load.mjs', {
    headers: AUTH,
    url: gw.api,
    paths: ['/api/servers/everything/tools/echo'],
    steps: gatewaySteps(connectionsList),
  });
  const steps = Object.fromEntries(result.steps.map((s) => [s.name, s]));
  const bad = result.steps.filter((s) => s.non2xx > 0 || s.errors > 0);
  if (bad.length) log(`WARNING: non-2xx or errors in ${bad.map((s) => s.name).join(', ')}`);
  return {
    sequential: { ...steps.sequential.latency, non2xx: steps.sequential.non2xx, errors: steps.sequential.errors },
    throughput: connectionsList.map((c) => steps[`c${c}`]),
    rss_mb_before: rssBefore,
    rss_mb_after: statusMb(gw.pid),
  };
}

async function measureRss(dataDir, heapCapMb) {
  const servers = Array.from({ length: OPTS.rssServers }, (_, i) => ({ id: `everything-${i + 1}`, poolSize: 1 }));
  log(
    `RSS: gateway with ${servers.length} stdio servers${heapCapMb ? `, node --max-old-space-size=${heapCapMb}` : ''}`,
  );
  const gw = await startGateway({ name: heapCapMb ? 'rss10-capped' : 'rss10', dataDir, servers, heapCapMb });
  try {
    await sleep(2000);
    const childRss = () => Math.round(descendants(gw.pid).reduce((sum, d) => sum + (safeStatus(d.pid) ?? 0), 0));
    const idle = { rss_mb: statusMb(gw.pid), children_rss_mb: childRss(), ...(await heapOf(gw)) };
    const idleSettled = heapCapMb ? null : await settled(gw, 'idle');
    const load = await runWorker('gateway-load.mjs', {
      headers: AUTH,
      url: gw.api,
      paths: servers.map((s) => `/api/servers/${s.id}/tools/echo`),
      steps: [
        { name: 'warmup', connections: 16, seconds: OPTS.warmupSeconds },
        { name: 'c16-round-robin', connections: 16, seconds: OPTS.seconds },
        { name: 'c64-round-robin', connections: 64, seconds: OPTS.seconds },
      ],
    });
    await sleep(1000);
    const afterLoad = {
      rss_mb: statusMb(gw.pid),
      hwm_mb: statusMb(gw.pid, 'VmHWM'),
      children_rss_mb: childRss(),
      ...(await heapOf(gw)),
    };
    const afterLoadSettled = heapCapMb ? null : await settled(gw, 'after load');
    return {
      servers: servers.length,
      node_args: heapCapMb ? [`--max-old-space-size=${heapCapMb}`] : [],
      active_ms: Math.round(gw.activeMs),
      idle,
      idle_settled: idleSettled,
      after_load: afterLoad,
      after_load_settled: afterLoadSettled,
      load: load.steps
        .filter((s) => s.name !== 'warmup')
        .map(({ name, rps, completed, non2xx, errors, latency }) => ({
          name,
          rps,
          completed,
          non2xx,
          errors,
          p50: latency.p50,
          p99: latency.p99,
        })),
    };
  } finally {
    await stopGateway(gw);
  }
}

/**
 * RSS once V8's memory reducer has run. V8 keeps the young generation at its full size (2 × 16 MB semi-spaces) and
 * the old generation as grown while the process allocates, and gives the memory back only some tens of seconds after
 * allocation stops (here ~50–60 s): what a process holds at rest is read after that, not right after a burst. The
 * sign is the new space's committed size dropping to a page or two; waits up to `settleSeconds`.
 */
async function settled(gw, label) {
  if (OPTS.settleSeconds === 0) return null;
  const started = performance.now();
  let reduced = false;
  while (performance.now() - started < OPTS.settleSeconds * 1000) {
    await sleep(5000);
    const newSpaceMb = await newSpaceCommittedMb(gw);
    if (newSpaceMb !== null && newSpaceMb <= 2) {
      reduced = true;
      break;
    }
  }
  const waited = Math.round((performance.now() - started) / 1000);
  const result = { rss_mb: statusMb(gw.pid), waited_s: waited, memory_reducer_ran: reduced, ...(await heapOf(gw)) };
  log(
    `RSS ${label}, after ${waited} s at rest: ${result.rss_mb} MB (memory reducer ${reduced ? 'ran' : 'did not run'})`,
  );
  return result;
}

async function newSpaceCommittedMb(gw) {
  try {
    const text = await (await fetch(`${gw.mgmt}/actuator/prometheus`, { signal: AbortSignal.timeout(3000) })).text();
    const m = /^nodejs_heap_space_size_total_bytes\{space="new"\} ([0-9.e+]+)$/m.exec(text);
    return m ? Number(m[1]) / 2 ** 20 : null;
  } catch {
    return null;
  }
}

/** V8 heap and external memory of the gateway, from its own Prometheus endpoint (prom-client default metrics). */
async function heapOf(gw) {
  try {
    const text = await (await fetch(`${gw.mgmt}/actuator/prometheus`, { signal: AbortSignal.timeout(3000) })).text();
    const metric = (name) => {
      const m = new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+]+)$`, 'm').exec(text);
      return m ? Math.round((Number(m[1]) / 2 ** 20) * 10) / 10 : null;
    };
    return {
      heap_used_mb: metric('nodejs_heap_size_used_bytes'),
      heap_total_mb: metric('nodejs_heap_size_total_bytes'),
      external_mb: metric('nodejs_external_memory_bytes'),
    };
  } catch {
    return {};
  }
}

function safeStatus(pid) {
  try {
    return statusMb(pid);
  } catch {
    return null;
  }
}

async function measureProfile(dataDir) {
  const profDir = path.join(TEMP, 'cpuprof');
  mkdirSync(profDir, { recursive: true });
  log(`profile: gateway under node --cpu-prof, ${OPTS.profileWith}, 16 connections for ${OPTS.profileSeconds} s`);
  const gw = await startGateway({
    name: 'profile',
    dataDir,
    servers: [{ id: 'everything', poolSize: 1 }],
    cpuProfDir: profDir,
  });
  const window = {};
  let load;
  try {
    load = await runWorker(
      'gateway-load.mjs',
      {
        url: gw.api,
        headers: await profileHeaders(),
        steps: [
          { name: 'warmup', connections: 16, seconds: OPTS.warmupSeconds },
          { name: 'profiled-c16', connections: 16, seconds: OPTS.profileSeconds, mark: true },
        ],
      },
      (line) => {
        const m = /^MARK (start|end) \S+ (\d+)$/.exec(line);
        if (m) window[m[1] === 'start' ? 'startUs' : 'endUs'] = Number(m[2]);
      },
    );
  } finally {
    await stopGateway(gw);
  }
  const file = readdirSync(profDir).find((f) => f.includes(`.${gw.pid}.`) && f.endsWith('.cpuprofile'));
  if (!file) throw new Error(`no .cpuprofile for pid ${gw.pid} in ${profDir} (exit ${JSON.stringify(gw.exit)})`);
  const summary = summarizeProfile(path.join(profDir, file), { window, top: 15 });
  summary.load = load.steps.find((s) => s.name === 'profiled-c16');
  summary.date = new Date().toISOString();
  return summary;
}

/** The credential of the profiled load (--profile-with): the API key, an HS256 JWT or the provider's RS256 token. */
async function profileHeaders() {
  if (OPTS.profileWith === 'hs256') return { authorization: `Bearer ${await hs256Token(HS256_SECRET)}` };
  if (OPTS.profileWith === 'rs256') {
    if (!oidc) throw new Error('--profile-with rs256 needs the OpenID Provider (drop --no-auth-paths)');
    return { authorization: `Bearer ${await oidcAccessToken(oidc)}` };
  }
  return AUTH;
}

async function measurePlatform() {
  log('platform: Nest GET /ping on Fastify vs Express, autocannon -c 50');
  const out = path.join(TEMP, 'platform.json');
  const child = spawnTracked(
    process.execPath,
    [path.join(BENCH_DIR, 'platform.mjs'), '--json', out, '--seconds', String(OPTS.seconds)],
    {
      cwd: ROOT,
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
  await child.exitPromise;
  if (!existsSync(out)) throw new Error('platform.mjs wrote no result');
  return JSON.parse(readFileSync(out, 'utf8'));
}

// ------------------------------------------------------------------------------------------------ report

function machine() {
  const git = (...args) => {
    try {
      return execFileSync('git', args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    } catch {
      return null;
    }
  };
  let build = null;
  try {
    build = JSON.parse(readFileSync(path.join(distDir(), 'build-info.json'), 'utf8'));
  } catch {
    // no build info
  }
  const cpus = os.cpus();
  return {
    date: new Date().toISOString(),
    commit: git('rev-parse', 'HEAD'),
    src_dirty: Boolean(git('status', '--porcelain', '--', 'src')),
    dist_build: build,
    node: process.version,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    cpus: cpus.length,
    cpu_model: cpus[0]?.model ?? null,
    memory_gb: Math.round(os.totalmem() / 2 ** 30),
    loadavg_at_start: os.loadavg().map((v) => Math.round(v * 100) / 100),
    sdk: readPkgVersion('@modelcontextprotocol/sdk'),
    server_everything: readPkgVersion('@modelcontextprotocol/server-everything'),
    autocannon: readPkgVersion('autocannon'),
  };
}

function readPkgVersion(name) {
  try {
    return JSON.parse(readFileSync(path.join(ROOT, 'node_modules', name, 'package.json'), 'utf8')).version;
  } catch {
    return null;
  }
}

function computeVerdicts(r) {
  const d = r.direct;
  const g = r.gateway_pool1;
  const at = (list, c) => list.find((t) => (t.callers ?? t.connections) === c);
  const addedP50 = round3(g.sequential.p50 - d.sequential.p50);
  const addedP99 = round3(g.sequential.p99 - d.sequential.p99);
  const ratio16 = round3(at(g.throughput, 16).rps / at(d.throughput, 16).rps);
  // The footprint at rest (after V8's memory reducer), at start and after load; a quick run has only the raw reads.
  const x = r.rss_10_servers;
  const rss = !x
    ? null
    : x.idle_settled && x.after_load_settled
      ? Math.max(x.idle_settled.rss_mb, x.after_load_settled.rss_mb)
      : Math.max(x.idle.rss_mb, x.after_load.rss_mb);
  const v = (value, target, ok) => ({ value, target, met: value === null ? null : ok });
  return {
    added_p50_ms: v(addedP50, `≤ ${TARGETS.addedP50Ms} ms`, addedP50 <= TARGETS.addedP50Ms),
    added_p99_ms: v(addedP99, `≤ ${TARGETS.addedP99Ms} ms`, addedP99 <= TARGETS.addedP99Ms),
    throughput_ratio_16: v(ratio16, `≥ ${TARGETS.throughputRatio16}`, ratio16 >= TARGETS.throughputRatio16),
    rss_mb_10_servers: v(rss, `≤ ${TARGETS.rssMb} MB`, rss !== null && rss <= TARGETS.rssMb),
  };
}

function renderMarkdown(r) {
  const m = r.machine;
  const d = r.direct;
  const g1 = r.gateway_pool1;
  const g2 = r.gateway_pool2;
  const v = r.verdicts;
  const mark = (x) => (x.met === null ? 'not measured' : x.met ? '**met**' : '**not met**');
  const tp = (list, c) => list?.find((t) => (t.callers ?? t.connections) === c);
  const ms = (x) => (x === null || x === undefined ? '–' : `${x.toFixed(3)} ms`);
  const lines = [];
  lines.push(
    `Run ${m.date} · commit \`${(m.commit ?? '?').slice(0, 12)}\`${m.src_dirty ? ' (src had uncommitted changes; dist built ' + (m.dist_build?.buildTime ?? '?') + ')' : ''} · ` +
      `${m.cpus} × ${m.cpu_model} · Node ${m.node} · SDK ${m.sdk} · server-everything ${m.server_everything} · ` +
      `gateway log level ${r.options.logLevel} · ${r.options.seconds} s per load step`,
    '',
    '| target (issue #3) | direct | gateway | result | target | |',
    '|---|---|---|---|---|---|',
    `| added latency p50 (sequential) | ${ms(d.sequential.p50)} | ${ms(g1.sequential.p50)} | +${v.added_p50_ms.value.toFixed(3)} ms | ${v.added_p50_ms.target} | ${mark(v.added_p50_ms)} |`,
    `| added latency p99 (sequential) | ${ms(d.sequential.p99)} | ${ms(g1.sequential.p99)} | +${v.added_p99_ms.value.toFixed(3)} ms | ${v.added_p99_ms.target} | ${mark(v.added_p99_ms)} |`,
    `| throughput, 16 callers | ${tp(d.throughput, 16).rps} calls/s | ${tp(g1.throughput, 16).rps} req/s | ${(v.throughput_ratio_16.value * 100).toFixed(0)}% of direct | ${v.throughput_ratio_16.target.replace('0.35', '35%')} | ${mark(v.throughput_ratio_16)} |`,
    `| gateway RSS, 10 stdio servers (${r.rss_10_servers?.after_load_settled ? 'at rest, after load; under load: ' + r.rss_10_servers.after_load.rss_mb + ' MB' : 'after load'}) | | ${v.rss_mb_10_servers.value ?? '–'} MB | | ${v.rss_mb_10_servers.target} | ${mark(v.rss_mb_10_servers)} |`,
    '',
    '| throughput (calls/s, p50 / p99 latency) | direct (1 stdio connection) | gateway, pool 1 | ' +
      (g2 ? 'gateway, pool 2 |' : ''),
    '|---|---|---|' + (g2 ? '---|' : ''),
  );
  for (const c of r.options.concurrency) {
    const cell = (t) => (t ? `${t.rps} (${ms(t.latency.p50)} / ${ms(t.latency.p99)})` : '–');
    lines.push(
      `| ${c} caller${c > 1 ? 's' : ''} | ${cell(tp(d.throughput, c))} | ${cell(tp(g1.throughput, c))} |${g2 ? ` ${cell(tp(g2.throughput, c))} |` : ''}`,
    );
  }
  if (g2) {
    lines.push(
      `| sequential p50 / p99 | ${ms(d.sequential.p50)} / ${ms(d.sequential.p99)} | ${ms(g1.sequential.p50)} / ${ms(g1.sequential.p99)} | ${ms(g2.sequential.p50)} / ${ms(g2.sequential.p99)} |`,
    );
  }
  lines.push('');
  if (r.auth_paths) lines.push(renderAuthPaths(r.auth_paths, v));
  if (r.mcp_front_door) lines.push(renderMcpFrontDoor(r.mcp_front_door, d));
  if (r.rss_10_servers) {
    const x = r.rss_10_servers;
    lines.push(
      `RSS (gateway process only, VmRSS; the ${x.servers} server-everything children, PostgreSQL and watchdogs excluded): ` +
        `${x.idle.rss_mb} MB when all ${x.servers} were active (V8 heap used ${x.idle.heap_used_mb ?? '?'} MB of ${x.idle.heap_total_mb ?? '?'} MB), ` +
        `${x.after_load.rss_mb} MB after load (heap used ${x.after_load.heap_used_mb ?? '?'} of ${x.after_load.heap_total_mb ?? '?'} MB) ` +
        `(${x.load.map((l) => `${l.name}: ${l.rps} req/s`).join(', ')}); peak VmHWM ${x.after_load.hwm_mb} MB. ` +
        `Its descendants together: ${x.after_load.children_rss_mb} MB.` +
        (x.idle_settled && x.after_load_settled
          ? ` At rest, once V8's memory reducer has run (it gives memory back some tens of seconds after allocation ` +
            `stops): ${x.idle_settled.rss_mb} MB after start (waited ${x.idle_settled.waited_s} s, heap used ` +
            `${x.idle_settled.heap_used_mb ?? '?'} of ${x.idle_settled.heap_total_mb ?? '?'} MB), ${x.after_load_settled.rss_mb} MB ` +
            `after the load (waited ${x.after_load_settled.waited_s} s, heap used ${x.after_load_settled.heap_used_mb ?? '?'} of ` +
            `${x.after_load_settled.heap_total_mb ?? '?'} MB)` +
            (x.idle_settled.memory_reducer_ran && x.after_load_settled.memory_reducer_ran
              ? '.'
              : '; the memory reducer had not run by then.')
          : ''),
      '',
    );
  }
  if (r.rss_10_servers_heap_capped) {
    const x = r.rss_10_servers_heap_capped;
    lines.push(
      `Same with \`node ${x.node_args.join(' ')}\` (not a leak check by itself, but V8 then collects instead of growing): ` +
        `${x.idle.rss_mb} MB when active (heap used ${x.idle.heap_used_mb ?? '?'} MB), ${x.after_load.rss_mb} MB after load ` +
        `(heap used ${x.after_load.heap_used_mb ?? '?'} MB; ${x.load.map((l) => `${l.name}: ${l.rps} req/s`).join(', ')}).`,
      '',
    );
  }
  if (r.time_to_ready) {
    const t = r.time_to_ready;
    lines.push(
      `Time to ready (spawn → readiness 200, embedded PostgreSQL): fresh data dir ${t.fresh_ms} ms (server active with tools ${t.fresh_active_ms} ms); ` +
        `existing data dir ${t.existing_ms} ms (active ${t.existing_active_ms} ms). Graceful stop (SIGTERM → exit): ${t.stop_ms} ms.`,
      '',
    );
  }
  if (r.platform?.results) {
    lines.push('| platform (Nest, GET /ping, autocannon -c 50) | req/s | p50 | p99 |', '|---|---|---|---|');
    for (const p of r.platform.results)
      lines.push(`| ${p.platform} | ${p.rps} | ${ms(p.latency.p50)} | ${ms(p.latency.p99)} |`);
    lines.push('');
  }
  if (r.profile) {
    lines.push(
      `Profile (gateway under 16 connections, ${Math.round((r.profile.busyMs * 1000) / r.profile.load.completed)} µs CPU per request; see profile-summary.md): ` +
        r.profile.attributedAreas
          .slice(0, 8)
          .map((a) => `${a.area} ${a.pct}%`)
          .join(', ') +
        '.',
      '',
    );
  }
  if (r.leftover_processes?.length)
    lines.push(`**Leftover processes after cleanup: ${r.leftover_processes.length}**`, '');
  return lines.join('\n');
}

function renderProfile(p) {
  const requests = p.load.completed;
  const perReq = (ms) => (requests ? Math.round((ms * 1000) / requests) : '–');
  const busyPerReq = perReq(p.busyMs);
  const lines = [
    '# CPU profile of the gateway under load',
    '',
    `Generated by \`npm run bench -- --profile\` (${p.date ?? ''}). \`node --cpu-prof\` on the gateway process only, ` +
      `${p.load.connections} autocannon connections for ${p.load.seconds} s: ${requests} echo calls, ${p.load.rps} req/s ` +
      '(the sampling profiler costs a few percent). ' +
      (p.windowApplied
        ? 'Only samples inside the measured load window count (start-up, warm-up and shutdown excluded). '
        : 'Whole-process profile (the load window could not be matched). ') +
      `Sampled ${p.sampledMs} ms: ${p.busyMs} ms busy (${Math.round((p.busyMs / p.sampledMs) * 100)}% of one core), ` +
      `${p.idleMs} ms idle. **CPU per request: ${busyPerReq} µs** on the gateway's one thread. ` +
      'Percentages are of busy time; µs/request = self time ÷ requests.',
    '',
    '## Where the time goes (native code and Node internals charged to the code that called them)',
    '',
    '| area | self ms | % of busy | µs/request |',
    '|---|---|---|---|',
    ...p.attributedAreas.map((a) => `| ${a.area} | ${a.selfMs} | ${a.pct}% | ${perReq(a.selfMs)} |`),
    '',
    '## By area of the sampled frame itself',
    '',
    '| area | self ms | % of busy | µs/request |',
    '|---|---|---|---|',
    ...p.areas.map((a) => `| ${a.area} | ${a.selfMs} | ${a.pct}% | ${perReq(a.selfMs)} |`),
    '',
    '## Native self time by nearest JavaScript caller (outside node: internals)',
    '',
    '| native function | called from | self ms | % of busy | µs/request |',
    '|---|---|---|---|---|',
    ...(p.nativeByCaller ?? []).map(
      (n) => `| \`${n.function}\` | \`${n.caller}\` | ${n.selfMs} | ${n.pct}% | ${perReq(n.selfMs)} |`,
    ),
    '',
    '## Top 15 functions (self time)',
    '',
    '| # | function | where | area | self ms | % of busy | µs/request |',
    '|---|---|---|---|---|---|---|',
    ...p.topFunctions.map(
      (f, i) =>
        `| ${i + 1} | \`${f.function}\` | ${f.where ? `\`${f.where}\`` : ''} | ${f.area} | ${f.selfMs} | ${f.pct}% | ${perReq(f.selfMs)} |`,
    ),
    '',
  ];
  return lines.join('\n');
}

// ------------------------------------------------------------------------------------------------ main

const summarizeAuthPaths = (a) =>
  Object.entries(a)
    .map(([k, s]) => `${k} ${s.rps ?? 'failed'}/s${s.cpu_us_per_call ? ` (${s.cpu_us_per_call} µs CPU/call)` : ''}`)
    .join(', ');

/** The --auth-only run: measure, clean up, write auth-only.{json,md}. */
async function finishAuthOnly(results, dataDir) {
  try {
    await mainAuthOnly(results, dataDir);
  } finally {
    await oidc?.stop();
    results.leftover_processes = await cleanupAll();
    if (!flags.has('--keep-temp')) rmSync(TEMP, { recursive: true, force: true });
  }
  results.machine.loadavg_at_end = os.loadavg().map((v) => Math.round(v * 100) / 100);
  results.verdicts = authVerdicts(results.auth_paths);
  const m = results.machine;
  const md =
    `Run ${m.date} · commit \`${(m.commit ?? '?').slice(0, 12)}\` · build ${m.dist_build?.commit ?? '?'} ` +
    `(${OPTS.dist ? `--dist ${OPTS.dist}` : 'dist/'}) · load average ${m.loadavg_at_start.join(' ')} at the start, ` +
    `${m.loadavg_at_end.join(' ')} at the end · ${OPTS.seconds} s per step after ${OPTS.warmupSeconds} s of warm-up\n\n` +
    renderAuthPaths(results.auth_paths, results.verdicts);
  mkdirSync(RESULTS_DIR, { recursive: true });
  writeFileSync(path.join(RESULTS_DIR, 'auth-only.json'), `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(path.join(RESULTS_DIR, 'auth-only.md'), `# Callers (--auth-only)\n\n${md}\n`);
  if (results.profile) writeFileSync(path.join(RESULTS_DIR, 'auth-only-profile.md'), renderProfile(results.profile));
  process.stdout.write(`\n${md}\n`);
  log(`callers: ${summarizeAuthPaths(results.auth_paths)}; leftover processes: ${results.leftover_processes.length}`);
  if (results.leftover_processes.length) process.exitCode = 1;
}

/** What bench/auth-paths.mjs needs of this orchestrator. */
const authContext = () => ({
  opts: OPTS,
  quick: QUICK,
  runWorker,
  spawnTracked,
  cleanEnv,
  log,
  marker: MARKER,
  apiKeyHeaders: AUTH,
  hs256Secret: HS256_SECRET,
  oidc,
});

/** --auth-only: the caller phase alone on one gateway (a few seconds per caller), for before/after comparisons. */
async function mainAuthOnly(results, dataDir) {
  const gw = await startGateway({ name: 'callers', dataDir, servers: [{ id: 'everything', poolSize: 1 }] });
  try {
    results.auth_paths = await measureAuthPaths(gw, authContext());
  } finally {
    await stopGateway(gw);
  }
  if (OPTS.profile) results.profile = await measureProfile(dataDir);
}

async function main() {
  const results = { options: { ...OPTS, quick: QUICK }, targets: TARGETS };
  if (!OPTS.dist) {
    buildIfNeeded();
    await snapshotDist();
  }
  results.machine = machine();
  const dataDir = path.join(TEMP, 'data');
  // Before any gateway starts: their configuration names the provider as the OAuth2 issuer.
  if (OPTS.authPaths || OPTS.authOnly) oidc = await startOidcIssuer(authContext());
  if (OPTS.authOnly) return finishAuthOnly(results, dataDir);
  let gw;
  try {
    results.direct = await measureDirect();
    delete results.direct.server_pid;
    log(
      `direct: p50 ${results.direct.sequential.p50} ms, p99 ${results.direct.sequential.p99} ms; ` +
        results.direct.throughput.map((t) => `${t.callers}: ${t.rps}/s`).join(', '),
    );

    // Gateway, pool 1, on a fresh data dir (its start is the "fresh" time to ready).
    log('gateway (pool size 1): starting on a fresh data dir');
    gw = await startGateway({ name: 'pool1', dataDir, servers: [{ id: 'everything', poolSize: 1 }] });
    const ttr = { fresh_ms: Math.round(gw.readyMs), fresh_active_ms: Math.round(gw.activeMs) };
    log(`gateway ready in ${ttr.fresh_ms} ms (server active ${ttr.fresh_active_ms} ms); measuring`);
    results.gateway_pool1 = await measureGateway(gw, OPTS.concurrency);
    log(
      `gateway pool 1: p50 ${results.gateway_pool1.sequential.p50} ms, p99 ${results.gateway_pool1.sequential.p99} ms; ` +
        results.gateway_pool1.throughput.map((t) => `${t.connections}: ${t.rps}/s`).join(', '),
    );
    if (OPTS.authPaths) {
      results.auth_paths = await measureAuthPaths(gw, authContext());
      log(`callers, 16 connections: ${summarizeAuthPaths(results.auth_paths)}`);
    }
    if (OPTS.mcpEndpoint) {
      results.mcp_front_door = await measureMcpFrontDoor({
        gatewayUrl: gw.api,
        headers: AUTH,
        opts: OPTS,
        runWorker,
        spawnTracked,
        cleanEnv,
        log,
      });
      log(
        'mcp front door, 16 callers: ' +
          Object.entries(results.mcp_front_door)
            .map(([k, v]) => `${k} ${v.throughput?.find((t) => t.callers === 16)?.rps ?? 'failed'}/s`)
            .join(', '),
      );
    }
    await stopGateway(gw);
    ttr.stop_ms = Math.round(gw.stopMs);

    // Same configuration, existing data dir: time to ready only.
    gw = await startGateway({ name: 'restart', dataDir, servers: [{ id: 'everything', poolSize: 1 }] });
    ttr.existing_ms = Math.round(gw.readyMs);
    ttr.existing_active_ms = Math.round(gw.activeMs);
    log(`restart on the existing data dir: ready in ${ttr.existing_ms} ms`);
    await stopGateway(gw);
    results.time_to_ready = ttr;

    if (OPTS.pool2) {
      log('gateway (pool size 2)');
      gw = await startGateway({ name: 'pool2', dataDir, servers: [{ id: 'everything', poolSize: 2 }] });
      results.gateway_pool2 = await measureGateway(
        gw,
        OPTS.concurrency.filter((c) => c > 1),
      );
      log(`gateway pool 2: ` + results.gateway_pool2.throughput.map((t) => `${t.connections}: ${t.rps}/s`).join(', '));
      await stopGateway(gw);
    }

    results.rss_10_servers = await measureRss(dataDir);
    log(
      `RSS: ${results.rss_10_servers.idle.rss_mb} MB idle, ${results.rss_10_servers.after_load.rss_mb} MB after load`,
    );
    if (OPTS.heapCapMb) {
      results.rss_10_servers_heap_capped = await measureRss(dataDir, OPTS.heapCapMb);
      const c = results.rss_10_servers_heap_capped;
      log(
        `RSS with a ${OPTS.heapCapMb} MB old-space cap: ${c.idle.rss_mb} MB idle, ${c.after_load.rss_mb} MB after load`,
      );
    }

    if (OPTS.platform) results.platform = await measurePlatform();
    if (OPTS.profile) results.profile = await measureProfile(dataDir);
  } finally {
    await stopGateway(gw).catch(() => undefined);
    await oidc?.stop();
    results.leftover_processes = await cleanupAll();
    if (!flags.has('--keep-temp')) rmSync(TEMP, { recursive: true, force: true });
  }
  results.machine.loadavg_at_end = os.loadavg().map((v) => Math.round(v * 100) / 100);
  results.verdicts = {
    ...computeVerdicts(results),
    ...(results.auth_paths ? authVerdicts(results.auth_paths) : {}),
  };
  results.duration_s = Math.round((performance.now() - T0) / 100) / 10;

  mkdirSync(RESULTS_DIR, { recursive: true });
  writeFileSync(path.join(RESULTS_DIR, 'latest.json'), `${JSON.stringify(results, null, 2)}\n`);
  const md = renderMarkdown(results);
  writeFileSync(path.join(RESULTS_DIR, 'latest.md'), `# Latest benchmark results\n\n${md}\n`);
  if (results.profile) writeFileSync(path.join(RESULTS_DIR, 'profile-summary.md'), renderProfile(results.profile));
  process.stdout.write(`\n${md}\n`);
  log(`done in ${results.duration_s} s; leftover processes: ${results.leftover_processes.length}`);
  if (results.leftover_processes.length) process.exitCode = 1;
}

let interrupted = false;
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, async () => {
    if (interrupted) return;
    interrupted = true;
    log(`${signal}: stopping everything`);
    await cleanupAll();
    rmSync(TEMP, { recursive: true, force: true });
    process.exit(130);
  });
}
// Last resort for an unexpected exit: SIGKILL every process group we started.
process.on('exit', () => {
  for (const child of tracked) if (child.exitCode === null && child.signalCode === null) killGroup(child.pid);
});

main().catch(async (error) => {
  process.stderr.write(`bench failed: ${error?.stack ?? error}\n`);
  const left = await cleanupAll();
  if (left.length) process.stderr.write(`leftover processes: ${JSON.stringify(left)}\n`);
  rmSync(TEMP, { recursive: true, force: true });
  process.exit(1);
});
