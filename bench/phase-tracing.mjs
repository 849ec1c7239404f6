// The tracing phase of `npm run bench` (bench/run.mjs): the per-server REST route (API key, 16 connections) on a
// gateway with OpenTelemetry traces off and on (`management.tracing.enabled`, sampling probability 1.0, exported over
// OTLP/HTTP to bench/otlp-sink.mjs, its own process that reads and discards each export). Off and on are two gateways
// started one after the other on the same data dir, in two rounds (off, on, on, off); the better 16-connection step
// of each is kept, with the gateway's CPU µs per call, which the neighbours on a shared machine move less.
import { round3, statusMb } from './lib/common.mjs';
import { startGateway, stopGateway } from './lib/gateway.mjs';
import { runWorker } from './lib/processes.mjs';
import { AUTH, OPTS, log } from './lib/run-context.mjs';
import { startReady, stopChild } from './auth-paths.mjs';

/** Issue 15: throughput with tracing on at 100% sampling ≥ 0.9 of tracing off. */
export const TRACING_TARGET = 0.9;

/** `ctx`: { spawnTracked, cleanEnv, marker } (what startReady needs). */
export async function measureTracing(dataDir, ctx) {
  const { child: sink, words } = await startReady(ctx, 'otlp-sink.mjs', {});
  const endpoint = words[0];
  const best = {};
  try {
    for (const mode of ['off', 'on', 'on', 'off']) {
      log(`tracing ${mode}: gateway${mode === 'on' ? ` exporting every span to ${endpoint}` : ''}`);
      const gw = await startGateway({
        name: `tracing-${mode}`,
        dataDir,
        servers: [{ id: 'everything', poolSize: 1 }],
        ...(mode === 'on' ? { tracing: { endpoint } } : {}),
      });
      try {
        const result = await runWorker('gateway-load.mjs', {
          headers: AUTH,
          url: gw.api,
          cpuPid: gw.pid,
          paths: ['/api/servers/everything/tools/echo'],
          steps: [
            { name: 'warmup', connections: 16, seconds: OPTS.warmupSeconds },
            { name: 'c16', connections: 16, seconds: OPTS.seconds },
          ],
        });
        const c16 = result.steps.find((s) => s.name === 'c16');
        c16.rss_mb = rssOf(gw.pid);
        if (!best[mode] || c16.rps > best[mode].rps) best[mode] = c16;
      } finally {
        await stopGateway(gw);
      }
    }
    const stats = await fetch(endpoint.replace(/\/v1\/traces$/, '/stats')).then((r) => r.json());
    const ratio = best.off?.rps ? round3(best.on.rps / best.off.rps) : null;
    return {
      off: best.off,
      on: best.on,
      sink: stats,
      verdict: { value: ratio, target: `≥ ${TRACING_TARGET}`, met: ratio === null ? null : ratio >= TRACING_TARGET },
    };
  } finally {
    await stopChild(sink);
  }
}

function rssOf(pid) {
  try {
    return statusMb(pid);
  } catch {
    return null;
  }
}

export function renderTracing(t) {
  const row = (label, s) =>
    `| ${label} | ${s?.rps ?? '–'} | ${s?.latency?.p50 ?? '–'} / ${s?.latency?.p99 ?? '–'} ms | ${s?.cpu_us_per_call ?? '–'} | ${s?.rss_mb ?? '–'} | ${s ? s.non2xx + s.errors : '–'} |`;
  const v = t.verdict;
  return [
    '| tracing (REST route, API key, 16 connections) | calls/s | p50 / p99 | CPU µs/call | RSS MB | non-2xx + errors |',
    '|---|---|---|---|---|---|',
    row('tracing off', t.off),
    row('tracing on, sampling 1.0, OTLP/HTTP to a local sink', t.on),
    '',
    `| target (issue 15) | result | target | |`,
    '|---|---|---|---|',
    `| tracing on ÷ off | ${v.value ?? '–'} | ${v.target} | ${v.met === null ? 'not measured' : v.met ? '**met**' : '**not met**'} |`,
    '',
    `The sink received ${t.sink?.exports ?? '?'} exports (${Math.round((t.sink?.bytes ?? 0) / 1024)} KiB). ` +
      'Best of two gateways each (off, on, on, off).',
    '',
  ].join('\n');
}
