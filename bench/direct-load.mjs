// DIRECT baseline, run as its own process by bench/run.mjs: the MCP SDK client (this process) calls `echo` on its own
// server-everything over stdio (a second process). No gateway involved.
//
//   node bench/direct-load.mjs '<json options>' <output.json>
//
// Options: { sequential, warmupCalls, warmupSeconds, concurrency: [1,16,64], seconds, marker }
import { writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport, getDefaultEnvironment } from '@modelcontextprotocol/sdk/client/stdio.js';
import { EVERYTHING, summarize } from './lib/common.mjs';

const options = JSON.parse(process.argv[2] ?? '{}');
const output = process.argv[3];
const [markerKey, markerValue] = (options.marker ?? 'GLOBALMCP_BENCH=1').split('=');

const transport = new StdioClientTransport({
  command: process.execPath,
  args: [EVERYTHING, 'stdio'],
  env: { ...getDefaultEnvironment(), [markerKey]: markerValue },
  stderr: 'ignore',
});
const client = new Client({ name: 'globalmcp-bench-direct', version: '1.0.0' });
const args = { name: 'echo', arguments: { message: 'hello' } };

async function call() {
  const result = await client.callTool(args);
  if (result.isError) throw new Error(`echo failed: ${JSON.stringify(result)}`);
}

/** `callers` loops calling back to back for `seconds`; counts calls completed in the window. */
async function load(callers, seconds) {
  const latencies = [];
  let completed = 0;
  let errors = 0;
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
      } catch {
        errors++;
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
    rps: Math.round(completed / seconds),
    latency: summarize(latencies),
  };
}

const result = { started_at: new Date().toISOString() };
try {
  await client.connect(transport);
  result.server_pid = transport.pid;
  process.stdout.write(`SERVER_PID ${transport.pid}\n`);
  // The gateway lists tools once per connection, which also primes the SDK's output-schema cache: do the same.
  await client.listTools();

  for (let i = 0; i < (options.warmupCalls ?? 1000); i++) await call();
  if (options.warmupSeconds) await load(16, options.warmupSeconds);

  const sequential = [];
  for (let i = 0; i < (options.sequential ?? 2000); i++) {
    const t0 = performance.now();
    await call();
    sequential.push(performance.now() - t0);
  }
  result.sequential = summarize(sequential);

  result.throughput = [];
  for (const callers of options.concurrency ?? [1, 16, 64]) {
    result.throughput.push(await load(callers, options.seconds ?? 5));
  }
} catch (error) {
  result.error = String(error?.stack ?? error);
} finally {
  await client.close().catch(() => undefined);
  writeFileSync(output, JSON.stringify(result, null, 2));
}
process.exit(result.error ? 1 : 0);
