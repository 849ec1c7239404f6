// The memory phase of `npm run bench` (bench/run.mjs): a gateway with 10 stdio servers, its RSS (VmRSS of the gateway
// process only) when active, after round-robin load, and at rest once V8's memory reducer has run.
import { performance } from 'node:perf_hooks';
import { descendants, sleep, statusMb } from './lib/common.mjs';
import { startGateway, stopGateway } from './lib/gateway.mjs';
import { runWorker } from './lib/processes.mjs';
import { AUTH, OPTS, log } from './lib/run-context.mjs';

export async function measureRss(dataDir, heapCapMb) {
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
