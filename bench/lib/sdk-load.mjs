// The measuring loop of the SDK-client load worker (direct-load.mjs, over stdio; the MCP front door is measured with
// raw JSON-RPC by mcp-raw-load.mjs): warm-up, sequential latency, then N callers back to back for a fixed window.
import { performance } from 'node:perf_hooks';
import { summarize } from './common.mjs';

/** `callers` loops calling back to back for `seconds`; counts calls completed in the window. */
export async function load(call, callers, seconds) {
  const latencies = [];
  let completed = 0;
  let errors = 0;
  let firstError;
  const start = performance.now();
  const end = start + seconds * 1000;
  const loop = async () => {
    while (performance.now() < end) {
      const t0 = performance.now();
      try {
        await call();
        const t1 = performance.now();
        latencies.push(t1 - t0);
        if (t1 <= end) completed++;
      } catch (error) {
        errors++;
        firstError ??= String(error?.message ?? error);
      }
    }
  };
  await Promise.all(Array.from({ length: callers }, loop));
  const elapsed = (performance.now() - start) / 1000;
  return {
    callers,
    seconds: Math.round(elapsed * 1000) / 1000,
    completed,
    errors,
    ...(firstError ? { first_error: firstError } : {}),
    rps: Math.round(completed / seconds),
    latency: summarize(latencies),
  };
}

/**
 * Warm-up (`warmupCalls` sequential calls, then `warmupSeconds` at 16 callers), `sequential` calls timed one by one,
 * then each of `concurrency` for `seconds`. Defaults differ per worker, so they are passed in.
 */
export async function measureCalls(call, options, defaults) {
  for (let i = 0; i < (options.warmupCalls ?? defaults.warmupCalls); i++) await call();
  if (options.warmupSeconds) await load(call, 16, options.warmupSeconds);
  const sequential = [];
  for (let i = 0; i < (options.sequential ?? defaults.sequential); i++) {
    const t0 = performance.now();
    await call();
    sequential.push(performance.now() - t0);
  }
  const throughput = [];
  for (const callers of options.concurrency ?? defaults.concurrency)
    throughput.push(await load(call, callers, options.seconds ?? 5));
  return { sequential: summarize(sequential), throughput };
}
