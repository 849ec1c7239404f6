// The MCP front door phase of `npm run bench` (bench/run.mjs): the same `echo` of server-everything through
//   - the gateway's /mcp/{server_id} (Streamable HTTP, auth + validation + audit + metrics on the way),
//   - supergateway (stdio -> Streamable HTTP, --stateful),
//   - mcp-proxy (stdio -> Streamable HTTP),
// each driven by bench/mcp-endpoint-load.mjs (the SDK client in its own process), next to the direct SDK path over
// stdio that run.mjs measures first. Every proxy fronts its own server-everything child.
import path from 'node:path';
import { BENCH_DIR, EVERYTHING, ROOT, freePort, sleep, waitFor } from './lib/common.mjs';

/**
 * Runs the phase. `ctx`: { gatewayUrl, headers, opts: { seconds, warmupSeconds, sequential }, runWorker,
 * spawnTracked, cleanEnv, log }. Returns { gateway, supergateway, mcp_proxy } (each the worker's result or { error }).
 */
export async function measureMcpFrontDoor(ctx) {
  const load = (url, headers = {}) =>
    ctx.runWorker('mcp-endpoint-load.mjs', {
      url,
      headers,
      sequential: ctx.opts.sequential,
      warmupCalls: 200,
      warmupSeconds: ctx.opts.warmupSeconds,
      concurrency: [1, 16],
      seconds: ctx.opts.seconds,
    });
  const results = {};
  ctx.log('mcp front door: gateway /mcp/everything');
  results.gateway = await load(`${ctx.gatewayUrl}/mcp/everything`, ctx.headers).catch((e) => ({ error: String(e) }));

  const bin = (name) => path.join(ROOT, 'node_modules', '.bin', name);
  const proxies = {
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
      [
        '--port',
        String(port),
        '--host',
        '127.0.0.1',
        '--server',
        'stream',
        '--',
        process.execPath,
        EVERYTHING,
        'stdio',
      ],
    ],
  };
  for (const [name, argsFor] of Object.entries(proxies)) {
    const port = await freePort();
    const [command, args] = argsFor(port);
    ctx.log(`mcp front door: ${name} on ${port}`);
    const child = ctx.spawnTracked(command, args, { cwd: ROOT, env: ctx.cleanEnv(), stdio: 'ignore' });
    try {
      await waitFor(
        async () => {
          const res = await fetch(`http://127.0.0.1:${port}/mcp`, { method: 'GET', signal: AbortSignal.timeout(500) })
            .then((r) => r.status)
            .catch(() => 0);
          return res > 0;
        },
        { timeoutMs: 30_000, intervalMs: 100, what: `${name} listening` },
      );
      results[name] = await load(`http://127.0.0.1:${port}/mcp`).catch((e) => ({ error: String(e) }));
    } catch (error) {
      results[name] = { error: String(error) };
    } finally {
      try {
        process.kill(-child.pid, 'SIGTERM');
      } catch {
        // gone
      }
      await Promise.race([child.exitPromise, sleep(5000)]);
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
  }
  return results;
}

/** Markdown: one table, the four paths side by side. */
export function renderMcpFrontDoor(r, direct) {
  const ms = (x) => (x === null || x === undefined ? '–' : `${x.toFixed(3)} ms`);
  const at = (x, c) => x?.throughput?.find((t) => (t.callers ?? t.connections) === c);
  const cell = (t) =>
    t ? `${t.rps} (${ms(t.latency.p50)} / ${ms(t.latency.p99)})${t.errors ? `, ${t.errors} errors` : ''}` : '–';
  const cols = [
    ['direct SDK (stdio)', direct],
    ['gateway /mcp/everything', r.gateway],
    ['supergateway --stateful', r.supergateway],
    ['mcp-proxy', r.mcp_proxy],
  ];
  const lines = [
    '| MCP front door: `echo` (calls/s, p50 / p99) | ' + cols.map(([n]) => n).join(' | ') + ' |',
    '|---|' + cols.map(() => '---|').join(''),
    '| sequential p50 / p99 | ' +
      cols
        .map(([, x]) =>
          x?.sequential ? `${ms(x.sequential.p50)} / ${ms(x.sequential.p99)}` : x?.error ? 'failed' : '–',
        )
        .join(' | ') +
      ' |',
  ];
  for (const c of [1, 16])
    lines.push(`| ${c} caller${c > 1 ? 's' : ''} | ` + cols.map(([, x]) => cell(at(x, c))).join(' | ') + ' |');
  const failed = cols.filter(([, x]) => x?.error).map(([n, x]) => `${n}: ${x.error.split('\n')[0]}`);
  if (failed.length) lines.push('', `Failed: ${failed.join('; ')}`);
  lines.push(
    '',
    'One MCP session per column, each over Streamable HTTP except the direct path (the SDK client over stdio). The ' +
      'gateway authenticates (API key), validates the arguments, records the execution and measures (rate limiting is ' +
      'off in the bench configuration); ' +
      'supergateway and mcp-proxy only relay.',
    '',
  );
  return lines.join('\n');
}

export const MCP_ENDPOINT_LOAD = path.join(BENCH_DIR, 'mcp-endpoint-load.mjs');
