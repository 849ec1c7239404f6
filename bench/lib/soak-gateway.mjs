// The soak's gateway: one built gateway (embedded PostgreSQL on a fixed loopback port) with two stdio servers,
// server-everything and the toolbox fixture (the one the soak crashes and hangs), started and stopped by PID, its
// process tree watched through /proc, its executions table read directly with pg.
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import {
  EVERYTHING,
  ROOT,
  cleanEnv,
  cmdline,
  descendants,
  freePort,
  getJson,
  killGroup,
  killIfSame,
  killRunProcesses,
  procStat,
  sleep,
  sleepUnref,
  waitFor,
} from './common.mjs';

const requireFromRoot = createRequire(path.join(ROOT, 'package.json'));
const YAML = requireFromRoot('yaml');

export const TOOLBOX = path.join(ROOT, 'test/fixtures/servers/toolbox.js');

/**
 * The servers of the soak. `match` tells a server's stdio process apart among the gateway's children (by its
 * command line); `flaky` is the one whose processes are SIGKILLed at random and whose `hang` tool exceeds its timeout.
 */
export function soakServers({ poolSize, callLog }) {
  return [
    { id: 'everything', args: [EVERYTHING, 'stdio'], poolSize, match: EVERYTHING },
    { id: 'flaky', args: [TOOLBOX], poolSize, match: TOOLBOX, timeoutMs: 5000, env: { CALL_LOG: callLog } },
  ];
}

function gatewayYaml({ apiPort, mgmtPort, pgPort, dataDir, servers, marker }) {
  const [markerKey, markerValue] = marker.split('=');
  const config = {
    server: { port: apiPort, address: '127.0.0.1' },
    management: { server: { port: mgmtPort }, prometheus: { port: 0 } },
    logging: { level: { root: 'WARN' } },
    mcp: {
      'data-dir': dataDir,
      database: { embedded: { port: pgPort } },
      security: { 'rate-limiting': { enabled: false } },
      servers: Object.fromEntries(
        servers.map((s) => [
          s.id,
          {
            type: 'stdio',
            command: process.execPath,
            args: s.args,
            'pool-size': s.poolSize,
            ...(s.timeoutMs ? { timeout: s.timeoutMs } : {}),
            environment: { [markerKey]: markerValue, ...s.env },
          },
        ]),
      ),
    },
  };
  return YAML.stringify(config);
}

/** Starts the gateway (own process group) from `distDir` and waits for readiness and for every server's tools. */
export async function startSoakGateway({ distDir, temp, dataDir, servers, marker, apiKey, nodeArgs = [] }) {
  const [apiPort, mgmtPort, pgPort] = [await freePort(), await freePort(), await freePort()];
  const configFile = path.join(temp, 'soak-gateway.yml');
  writeFileSync(configFile, gatewayYaml({ apiPort, mgmtPort, pgPort, dataDir, servers, marker }));
  const logFile = path.join(temp, 'soak-gateway.log');
  const logFd = openSync(logFile, 'w');
  const [markerKey, markerValue] = marker.split('=');
  const child = spawn(process.execPath, [...nodeArgs, path.join(distDir, 'src/main.js'), '--config', configFile], {
    cwd: ROOT,
    detached: true,
    env: { ...cleanEnv(), GLOBALMCP_ADMIN_API_KEY: apiKey, GLOBALMCP_DATA_DIR: dataDir, [markerKey]: markerValue },
    stdio: ['ignore', logFd, logFd],
  });
  closeSync(logFd);
  const gw = {
    pid: child.pid,
    child,
    api: `http://127.0.0.1:${apiPort}`,
    mgmt: `http://127.0.0.1:${mgmtPort}`,
    pgPort,
    dataDir,
    logFile,
    servers,
    headers: { 'x-api-key': apiKey },
    /** Every descendant ever seen (pid:start → stat), for the orphan check and the final kill by PID. */
    seen: new Map(),
    exit: null,
  };
  gw.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve((gw.exit = { code, signal }))));
  const t0 = performance.now();
  const alive = () => {
    if (gw.exit) throw new Error(`gateway exited (${JSON.stringify(gw.exit)}):\n${tail(logFile)}`);
  };
  await waitFor(
    async () => {
      alive();
      return (await getJson(`${gw.mgmt}/actuator/health/readiness`, 1000)).status === 200;
    },
    { timeoutMs: 90_000, intervalMs: 50, what: 'gateway readiness' },
  );
  await waitFor(
    async () => {
      alive();
      const { body } = await getJson(`${gw.api}/api/servers?limit=100`, 2000, gw.headers);
      const active = (body?.servers ?? []).filter((s) => s.status === 'active' && s.capabilities?.tools > 0);
      return active.length === servers.length;
    },
    { timeoutMs: 90_000, intervalMs: 100, what: 'every server active with tools' },
  );
  gw.readyMs = Math.round(performance.now() - t0);
  remember(gw);
  return gw;
}

const tail = (file) => readFileSync(file, 'utf8').split('\n').slice(-25).join('\n');

/**
 * Records the gateway's current descendants in `gw.seen` and returns them. A command line is read again until it is
 * no longer the gateway's own: a child seen between fork and exec still shows its parent's.
 */
export function remember(gw) {
  gw.ownCmd ??= cmdline(gw.pid);
  const now = descendants(gw.pid);
  for (const d of now) {
    const key = `${d.pid}:${d.start}`;
    const known = gw.seen.get(key);
    if (!known) gw.seen.set(key, { ...d, cmd: cmdline(d.pid) });
    else if (known.cmd === gw.ownCmd || known.cmd === '') known.cmd = cmdline(d.pid);
  }
  return now;
}

/**
 * The gateway's direct children per server (the stdio processes of its pool), by command line; zombies (exited,
 * not reaped yet) are counted apart. Other children (embedded PostgreSQL, watchdogs) are left out, and so is a child
 * not exec'ed yet (its command line is still the gateway's): it is counted from the next look on.
 */
export function childrenByServer(gw) {
  const children = remember(gw).filter((d) => d.ppid === gw.pid);
  const out = {};
  for (const s of gw.servers) {
    const mine = children.filter((c) => (gw.seen.get(`${c.pid}:${c.start}`)?.cmd ?? '').includes(s.match));
    out[s.id] = {
      live: mine.filter((c) => c.state !== 'Z').map((c) => ({ pid: c.pid, start: c.start })),
      zombies: mine.filter((c) => c.state === 'Z').length,
    };
  }
  return out;
}

/** SIGTERM, then SIGKILL of the group after 30 s. Returns how it ended and how long it took. */
export async function stopSoakGateway(gw) {
  remember(gw);
  const t0 = performance.now();
  try {
    process.kill(gw.pid, 'SIGTERM');
  } catch {
    // already gone
  }
  const outcome = await Promise.race([gw.exited, sleepUnref(30_000).then(() => null)]);
  if (!outcome) {
    killGroup(gw.pid);
    await gw.exited;
  }
  return { exit: outcome ?? { forced: 'SIGKILL after 30 s' }, stop_ms: Math.round(performance.now() - t0) };
}

/**
 * Orphans: every descendant the gateway ever had that is still alive (same pid and start time) once it is gone,
 * after its children had `graceMs` to see their stdin close. Then everything of the run is killed by PID.
 */
export async function orphansAfterStop(gw, { marker, temp, graceMs = 5000 }) {
  const alive = () =>
    [...gw.seen.values()].filter((d) => {
      const now = procStat(d.pid);
      return now && now.start === d.start && now.state !== 'Z';
    });
  const deadline = Date.now() + graceMs;
  while (alive().length > 0 && Date.now() < deadline) await sleep(100);
  const orphans = alive().map((d) => ({ pid: d.pid, cmd: d.cmd.slice(0, 160) }));
  for (const d of gw.seen.values()) killIfSame(d);
  const left = await killRunProcesses(marker, temp);
  return { orphans, left_after_kill: left };
}

/** A pg client on the embedded PostgreSQL (superuser password from its data dir, as the gateway keeps it). */
export async function connectDb(gw) {
  const { Client } = requireFromRoot('pg');
  const password = readFileSync(path.join(gw.dataDir, 'postgres/.globalmcp-password'), 'utf8').trim();
  const client = new Client({ host: '127.0.0.1', port: gw.pgPort, user: 'postgres', password, database: 'globalmcp' });
  await client.connect();
  return client;
}
