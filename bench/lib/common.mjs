// Shared helpers of the benchmark scripts: statistics, free ports, waiting, and process bookkeeping through /proc.
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const BENCH_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const ROOT = path.resolve(BENCH_DIR, '..');
export const EVERYTHING = path.join(ROOT, 'node_modules/@modelcontextprotocol/server-everything/dist/index.js');

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
/** A sleep that does not keep the process alive (for timeouts raced against something else). */
export const sleepUnref = (ms) => new Promise((resolve) => setTimeout(resolve, ms).unref());

/** Nearest-rank percentile of an unsorted array of numbers. */
export function percentile(values, p) {
  if (values.length === 0) return null;
  const sorted = Float64Array.from(values).sort();
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank];
}

/** p50/p90/p99/max/mean of latencies in ms, rounded to µs. */
export function summarize(latencies) {
  if (latencies.length === 0) return { count: 0 };
  const round = (v) => (v === null ? null : Math.round(v * 1000) / 1000);
  let sum = 0;
  let max = 0;
  for (const v of latencies) {
    sum += v;
    if (v > max) max = v;
  }
  return {
    count: latencies.length,
    p50: round(percentile(latencies, 50)),
    p90: round(percentile(latencies, 90)),
    p99: round(percentile(latencies, 99)),
    max: round(max),
    mean: round(sum / latencies.length),
  };
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Polls `probe` (async, truthy = done) every `intervalMs` until `timeoutMs`. */
export async function waitFor(probe, { timeoutMs = 60_000, intervalMs = 20, what = 'condition' } = {}) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const value = await probe();
      if (value) return value;
    } catch {
      // not yet
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}

export async function getJson(url, timeoutMs = 2000, headers = {}) {
  const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), headers });
  return { status: response.status, body: await response.json().catch(() => null) };
}

// ------------------------------------------------------------------------------------------- /proc helpers

/** `{ pid, ppid, pgid, start }` of a process, or null when gone (`start` tells a reused PID apart). */
export function procStat(pid) {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: parse after the last ')'.
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { pid, state: fields[0], ppid: Number(fields[1]), pgid: Number(fields[2]), start: fields[19] };
  } catch {
    return null;
  }
}

let clockTicks;
/**
 * CPU time (user + system) a process has used so far, in µs, from /proc/<pid>/stat (clock ticks, 10 ms each at the
 * usual 100 Hz: read it around steps of thousands of calls). null when the process is gone.
 */
export function cpuUs(pid) {
  try {
    clockTicks ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1e6) / clockTicks;
  } catch {
    return null;
  }
}

function allPids() {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .map(Number);
}

/** Every live descendant of `root` (children, grandchildren, ...), found through the ppid links in /proc. */
export function descendants(root) {
  const byParent = new Map();
  for (const pid of allPids()) {
    const stat = procStat(pid);
    if (!stat) continue;
    if (!byParent.has(stat.ppid)) byParent.set(stat.ppid, []);
    byParent.get(stat.ppid).push(stat);
  }
  const out = [];
  const queue = [root];
  while (queue.length > 0) {
    for (const child of byParent.get(queue.shift()) ?? []) {
      out.push(child);
      queue.push(child.pid);
    }
  }
  return out;
}

export function cmdline(pid) {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
  } catch {
    return '';
  }
}

function environHas(pid, needle) {
  try {
    return readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').includes(needle);
  } catch {
    return false;
  }
}

/** Processes that belong to this benchmark run: the run's marker in their environment or its temp dir in argv. */
export function processesOfRun(marker, tempRoot) {
  const found = [];
  for (const pid of allPids()) {
    if (pid === process.pid) continue;
    const stat = procStat(pid);
    if (!stat || stat.state === 'Z') continue;
    if (environHas(pid, marker) || (tempRoot && cmdline(pid).includes(tempRoot))) {
      found.push({ ...stat, cmd: cmdline(pid).slice(0, 160) });
    }
  }
  return found;
}

/** SIGKILLs, by PID, whatever of this run is still alive (see processesOfRun); returns what is left after 5 s. */
export async function killRunProcesses(marker, tempRoot) {
  let left = [];
  for (let i = 0; i < 20; i++) {
    left = processesOfRun(marker, tempRoot);
    if (left.length === 0) break;
    for (const p of left) killIfSame(p);
    await sleep(250);
  }
  return left;
}

/** A field of /proc/<pid>/status in MB (VmRSS, VmHWM); this process only, children excluded. */
export function statusMb(pid, field = 'VmRSS') {
  const text = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text);
  return match ? Math.round((Number(match[1]) / 1024) * 10) / 10 : null;
}

/** SIGKILL `stat.pid` if it is still the same process (same start time). */
export function killIfSame(stat, signal = 'SIGKILL') {
  const now = procStat(stat.pid);
  if (!now || now.start !== stat.start || now.state === 'Z') return false;
  try {
    process.kill(stat.pid, signal);
    return true;
  } catch {
    return false;
  }
}

export function killGroup(pgid, signal = 'SIGKILL') {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false;
  }
}

export const round1 = (v) => (v === null || v === undefined ? v : Math.round(v * 10) / 10);
export const round3 = (v) => (v === null || v === undefined ? v : Math.round(v * 1000) / 1000);

// ------------------------------------------------------------------------------------------- the build under test

/** The caller's environment without anything that could reconfigure the gateway under test. */
export function cleanEnv() {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (/^(SERVER_|MANAGEMENT_|MCP_|SPRING_|GLOBALMCP_|LOGGING_|DATABASE_URL|REDIS_URL|JWT_|NODE_OPTIONS)/.test(k))
      continue;
    env[k] = v;
  }
  return env;
}

/** Runs `npm run build` when dist/ has no build yet (or `force`). */
export function buildIfNeeded(force, log) {
  if (existsSync(path.join(ROOT, 'dist/src/main.js')) && !force) return;
  log('building (npm run build)');
  const r = spawnSync('npm', ['run', 'build', '--silent'], { cwd: ROOT, stdio: 'inherit' });
  if (r.status !== 0) throw new Error('npm run build failed');
}

/**
 * Copies dist/ to `target` (under bench/.cache/) and runs the gateway from the copy: a rebuild of dist/ by someone
 * else during the run (tsc first writes unaliased `require("src/...")`, then tsc-alias rewrites them) must not break
 * or change the gateway half-way. Node still resolves node_modules from the project root above bench/.cache/.
 */
export async function snapshotDist(target, log) {
  for (let attempt = 1; ; attempt++) {
    rmSync(target, { recursive: true, force: true });
    mkdirSync(path.dirname(target), { recursive: true });
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
