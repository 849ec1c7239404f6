// The MCP front door phase of `npm run bench` (bench/run.mjs): `tools/call echo` of server-everything as raw JSON-RPC
// (bench/mcp-raw-load.mjs: autocannon, no SDK client) through
//   - the gateway's /mcp/everything and its aggregated /mcp (tool `everything__echo`), API key, audit, validation,
//     metrics on the way; for MCP 2025-11-25 (one session) and 2026-07-28 (stateless requests),
//   - supergateway 4.0 (stdio -> Streamable HTTP, --stateful), 2025-11-25,
//   - mcp-proxy 6.7 (stdio -> Streamable HTTP; --modern, its default, also serves 2026-07-28), both revisions,
// each relay fronting its own server-everything child, as the gateway fronts its one (pool size 1). Every row is
// measured in two rounds (the second in reverse order) and the better 16-connection step is kept, as the caller
// phase does: a neighbour's burst on the shared machine then costs a row one of its two chances, not its result.
import path from 'node:path';
import { EVERYTHING, ROOT, freePort, round3, sleep, waitFor } from './lib/common.mjs';

/** Issue 15: the front door ≥ 1.5× the best relay (aim 2×); the aggregated /mcp within 10% of /mcp/{id}. */
export const FRONT_DOOR_TARGET = 1.5;
export const FRONT_DOOR_AIM = 2;
export const AGGREGATED_TARGET = 0.9;
const ROUNDS = 2;

/** The rows: [key, label, where ('gateway' | relay name), path, protocol, tool]. */
const ROWS = [
  ['gateway_2025', 'gateway /mcp/everything', 'gateway', '/mcp/everything', '2025-11-25', 'echo'],
  ['gateway_aggregated_2025', 'gateway /mcp (aggregated)', 'gateway', '/mcp', '2025-11-25', 'everything__echo'],
  ['supergateway_2025', 'supergateway 4.0 --stateful', 'supergateway', '/mcp', '2025-11-25', 'echo'],
  ['mcp_proxy_2025', 'mcp-proxy 6.7', 'mcp_proxy', '/mcp', '2025-11-25', 'echo'],
  ['gateway_2026', 'gateway /mcp/everything', 'gateway', '/mcp/everything', '2026-07-28', 'echo'],
  ['gateway_aggregated_2026', 'gateway /mcp (aggregated)', 'gateway', '/mcp', '2026-07-28', 'everything__echo'],
  ['mcp_proxy_2026', 'mcp-proxy 6.7 (--modern)', 'mcp_proxy', '/mcp', '2026-07-28', 'echo'],
];

const bin = (name) => path.join(ROOT, 'node_modules', '.bin', name);
const RELAYS = {
  supergateway: (port) => [
    bin('supergateway'),
    [
      '--stdio',
      `${process.execPath} ${EVERYTHING} stdio`,
      '--outputTransport',
      'streamableHttp',
      '--stateful',
      '--port',
      String(port),
      '--logLevel',
      'none',
    ],
  ],
  mcp_proxy: (port) => [
    bin('mcp-proxy'),
    ['--port', String(port), '--host', '127.0.0.1', '--server', 'stream', '--', process.execPath, EVERYTHING, 'stdio'],
  ],
};

/**
 * Runs the phase. `ctx`: { gateway: { api, pid }, headers, opts: { seconds, warmupSeconds }, runWorker,
 * spawnTracked, cleanEnv, log, marker }. Returns { rows: { key: result }, verdicts }.
 */
export async function measureMcpFrontDoor(ctx) {
  const relays = {};
  const rows = {};
  try {
    for (const [name, argsFor] of Object.entries(RELAYS)) relays[name] = await startRelay(ctx, name, argsFor);
    const steps = (round) => [
      ...(round === 1 ? [{ name: 'warmup', connections: 16, seconds: ctx.opts.warmupSeconds }] : []),
      { name: 'c1', connections: 1, seconds: ctx.opts.seconds },
      { name: 'c16', connections: 16, seconds: ctx.opts.seconds },
    ];
    for (let round = 1; round <= ROUNDS; round++) {
      const order = round % 2 ? ROWS : [...ROWS].reverse();
      for (const [key, label, where, urlPath, protocol, tool] of order) {
        const target = where === 'gateway' ? ctx.gateway : relays[where];
        if (!target || target.error) {
          rows[key] ??= { label, protocol, error: target?.error ?? `${where} not started` };
          continue;
        }
        ctx.log(`mcp front door, round ${round}: ${label}, ${protocol}`);
        const measured = await ctx
          .runWorker('mcp-raw-load.mjs', {
            url: `${target.api}${urlPath}`,
            headers: where === 'gateway' ? ctx.headers : {},
            protocol,
            tool,
            cpuPid: target.pid,
            steps: steps(round),
          })
          .catch((e) => ({ error: String(e) }));
        rows[key] = better(rows[key], { label, where, protocol, tool, ...measured });
      }
    }
  } finally {
    for (const relay of Object.values(relays)) await stopRelay(relay);
  }
  return { rows, verdicts: frontDoorVerdicts(rows) };
}

const step = (row, name) => row?.steps?.find((s) => s.name === name);

/** Keeps the measurement with the better 16-connection step (errors lose). */
function better(previous, next) {
  if (!previous || previous.error) return next;
  if (next.error) return previous;
  return (step(next, 'c16')?.rps ?? 0) > (step(previous, 'c16')?.rps ?? 0) ? next : previous;
}

async function startRelay(ctx, name, argsFor) {
  const port = await freePort();
  const [command, args] = argsFor(port);
  ctx.log(`mcp front door: ${name} on ${port}`);
  const child = ctx.spawnTracked(command, args, {
    cwd: ROOT,
    env: { ...ctx.cleanEnv(), [ctx.marker.split('=')[0]]: ctx.marker.split('=')[1] },
    stdio: 'ignore',
  });
  const relay = { name, child, pid: child.pid, api: `http://127.0.0.1:${port}` };
  try {
    await waitFor(
      async () => {
        const status = await fetch(`${relay.api}/mcp`, { method: 'GET', signal: AbortSignal.timeout(500) })
          .then((r) => r.status)
          .catch(() => 0);
        return status > 0;
      },
      { timeoutMs: 30_000, intervalMs: 100, what: `${name} listening` },
    );
  } catch (error) {
    relay.error = String(error);
  }
  return relay;
}

async function stopRelay(relay) {
  try {
    process.kill(-relay.child.pid, 'SIGTERM');
  } catch {
    return;
  }
  await Promise.race([relay.child.exitPromise, sleep(5000)]);
  try {
    process.kill(-relay.child.pid, 'SIGKILL');
  } catch {
    // gone
  }
}

/** Gateway ÷ best relay of the same revision, and /mcp ÷ /mcp/{id}, at 16 connections. */
export function frontDoorVerdicts(rows) {
  const rps = (key) => step(rows[key], 'c16')?.rps ?? null;
  const verdict = (value, target, aim) => ({
    value,
    target: `≥ ${target}`,
    ...(aim ? { aim: `≥ ${aim}` } : {}),
    met: value === null ? null : value >= target,
  });
  const ratio = (a, b) => (a === null || !b ? null : round3(a / b));
  const bestPeer = (keys) => {
    const peers = keys.map((k) => [k, rps(k)]).filter(([, v]) => v !== null);
    return peers.length ? peers.reduce((a, b) => (b[1] > a[1] ? b : a)) : [null, null];
  };
  const out = {};
  for (const [revision, peers] of [
    ['2025', ['supergateway_2025', 'mcp_proxy_2025']],
    ['2026', ['mcp_proxy_2026']],
  ]) {
    const [peerKey, peerRps] = bestPeer(peers);
    out[`front_door_${revision}_vs_best_peer`] = {
      ...verdict(ratio(rps(`gateway_${revision}`), peerRps), FRONT_DOOR_TARGET, FRONT_DOOR_AIM),
      best_peer: peerKey,
    };
    out[`aggregated_${revision}_vs_per_server`] = verdict(
      ratio(rps(`gateway_aggregated_${revision}`), rps(`gateway_${revision}`)),
      AGGREGATED_TARGET,
    );
  }
  return out;
}

/** Markdown: one row per path and revision, then the verdicts. */
export function renderMcpFrontDoor(r) {
  const ms = (x) => (x === null || x === undefined ? '–' : `${x.toFixed(3)} ms`);
  const lines = [
    '| MCP front door: raw JSON-RPC `tools/call echo` | revision | 16 conn. calls/s | p50 / p99 | 1 conn. calls/s | p50 / p99 | CPU µs/call (16) | RSS MB | non-2xx / JSON-RPC errors / other |',
    '|---|---|---|---|---|---|---|---|---|',
  ];
  for (const [key, label, , , protocol] of ROWS) {
    const row = r.rows[key];
    if (!row || row.error) {
      lines.push(
        `| ${label} | ${protocol} | failed: ${String(row?.error ?? 'not run')
          .split('\n')[0]
          .slice(0, 160)} |`,
      );
      continue;
    }
    const c16 = step(row, 'c16');
    const c1 = step(row, 'c1');
    const bad = row.steps
      .filter((s) => s.name !== 'warmup')
      .reduce(
        (acc, s) => [acc[0] + s.non2xx, acc[1] + s.rpc_errors, acc[2] + s.unexpected + s.errors + s.timeouts],
        [0, 0, 0],
      );
    lines.push(
      `| ${label} | ${protocol} | ${c16?.rps ?? '–'} | ${ms(c16?.latency?.p50)} / ${ms(c16?.latency?.p99)} | ` +
        `${c1?.rps ?? '–'} | ${ms(c1?.latency?.p50)} / ${ms(c1?.latency?.p99)} | ${c16?.cpu_us_per_call ?? '–'} | ` +
        `${c16?.rss_mb ?? '–'} | ${bad.join(' / ')} |`,
    );
  }
  const v = r.verdicts;
  const mark = (x) => (x.met === null ? 'not measured' : x.met ? '**met**' : '**not met**');
  lines.push(
    '',
    '| target (issue 15, 16 connections) | result | target | |',
    '|---|---|---|---|',
    `| front door ÷ best relay, 2025-11-25 (best: ${v.front_door_2025_vs_best_peer.best_peer ?? '–'}) | ${v.front_door_2025_vs_best_peer.value ?? '–'} | ${v.front_door_2025_vs_best_peer.target} (aim ${v.front_door_2025_vs_best_peer.aim}) | ${mark(v.front_door_2025_vs_best_peer)} |`,
    `| front door ÷ best relay, 2026-07-28 (best: ${v.front_door_2026_vs_best_peer.best_peer ?? '–'}) | ${v.front_door_2026_vs_best_peer.value ?? '–'} | ${v.front_door_2026_vs_best_peer.target} (aim ${v.front_door_2026_vs_best_peer.aim}) | ${mark(v.front_door_2026_vs_best_peer)} |`,
    `| /mcp ÷ /mcp/everything, 2025-11-25 | ${v.aggregated_2025_vs_per_server.value ?? '–'} | ${v.aggregated_2025_vs_per_server.target} | ${mark(v.aggregated_2025_vs_per_server)} |`,
    `| /mcp ÷ /mcp/everything, 2026-07-28 | ${v.aggregated_2026_vs_per_server.value ?? '–'} | ${v.aggregated_2026_vs_per_server.target} | ${mark(v.aggregated_2026_vs_per_server)} |`,
    '',
    'Raw JSON-RPC over Streamable HTTP (bench/mcp-raw-load.mjs: autocannon, a unique id per call, every answer ' +
      'parsed as JSON or an event stream). 2025-11-25: one session per row (`initialize` + ' +
      '`notifications/initialized` once, shared by the connections: each relay spawns a stdio child per session). ' +
      '2026-07-28: stateless requests with the `_meta` envelope and the `Mcp-Method`/`Mcp-Name` headers. The gateway ' +
      'authenticates (API key), validates the arguments, records the execution and measures (rate limiting off); ' +
      'the relays only relay. CPU and RSS are of the serving process alone (its server-everything child excluded). ' +
      'Best of two rounds at 16 connections.',
    '',
  );
  return lines.join('\n');
}
