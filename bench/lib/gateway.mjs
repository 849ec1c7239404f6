// The gateway under test in `npm run bench`: its YAML, start (readiness, then every server active with tools) and
// graceful stop, with the bookkeeping of its descendants; it runs the snapshot of dist/ (or --dist).
import { closeSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import {
  EVERYTHING,
  ROOT,
  cleanEnv,
  descendants,
  freePort,
  getJson,
  killGroup,
  killIfSame,
  sleep,
  sleepUnref,
  waitFor,
} from './common.mjs';
import { authYaml } from '../auth-paths.mjs';
import { seenDescendants, spawnTracked } from './processes.mjs';
import { API_KEY, AUTH, HS256_SECRET, MARKER, OPTS, SNAPSHOT_DIR, TEMP, log, state } from './run-context.mjs';

/** The build the gateways run: --dist, or the snapshot of dist/. */
export const distDir = () => (OPTS.dist ? path.resolve(OPTS.dist) : path.join(SNAPSHOT_DIR, 'dist'));

/** The gateway's YAML; `tracing: { endpoint }` turns OpenTelemetry traces on at 100% sampling, exported there. */
export function gatewayYaml({ apiPort, mgmtPort, dataDir, servers, tracing }) {
  const [markerKey, markerValue] = MARKER.split('=');
  const auth = authYaml({ hs256Secret: HS256_SECRET, oidcIssuer: state.oidc?.issuer });
  const lines = [
    'server:',
    `  port: ${apiPort}`,
    '  address: 127.0.0.1',
    'management:',
    '  server:',
    `    port: ${mgmtPort}`,
    '  prometheus:',
    '    port: 0',
    ...(tracing
      ? [
          '  tracing:',
          '    enabled: true',
          '    sampling:',
          '      probability: 1.0',
          '  otlp:',
          '    tracing:',
          `      endpoint: ${JSON.stringify(tracing.endpoint)}`,
        ]
      : []),
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
 * server to be active with tools. Returns timings from spawn. `dist`: another build than the run's (A/B runs);
 * `nodeArgs`: V8/Node flags for the gateway's process (A/B of a NODE_OPTIONS setting).
 */
export async function startGateway({
  name,
  dataDir,
  servers,
  cpuProfDir,
  heapCapMb,
  tracing,
  dist,
  nodeArgs: extraNodeArgs = [],
}) {
  const apiPort = await freePort();
  const mgmtPort = await freePort();
  const configFile = path.join(TEMP, `${name}.yml`);
  writeFileSync(configFile, gatewayYaml({ apiPort, mgmtPort, dataDir, servers, tracing }));
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
    ...extraNodeArgs,
  ];
  const spawnedAt = performance.now();
  const spawnedUs = process.hrtime.bigint() / 1000n;
  const child = spawnTracked(
    process.execPath,
    [...nodeArgs, path.join(dist ?? distDir(), 'src/main.js'), '--config', configFile],
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
export async function stopGateway(gw) {
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
