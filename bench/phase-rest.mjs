// The REST phases of `npm run bench` (bench/run.mjs): the direct SDK baseline over stdio, the gateway's per-server
// tool route at 1/16/64 connections, and the Fastify-vs-Express platform check.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { BENCH_DIR, ROOT, statusMb } from './lib/common.mjs';
import { runWorker, spawnTracked } from './lib/processes.mjs';
import { AUTH, MARKER, OPTS, TEMP, log } from './lib/run-context.mjs';

export async function measureDirect() {
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

export async function measureGateway(gw, connectionsList) {
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

export async function measurePlatform() {
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
