// MCP-over-HTTP load, run as its own process by bench/mcp-endpoint.mjs: the MCP SDK client (this process) opens one
// Streamable HTTP session to `url` and calls `echo` there, like direct-load.mjs does over stdio. Used for the
// gateway's /mcp/{server_id}, supergateway and mcp-proxy, each fronting server-everything.
//
//   node bench/mcp-endpoint-load.mjs '<json options>' <output.json>
//
// Options: { url, headers, tool, sequential, warmupCalls, warmupSeconds, concurrency: [1,16], seconds }
import { writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { summarize } from './lib/common.mjs';

const options = JSON.parse(process.argv[2] ?? '{}');
const output = process.argv[3];

const client = new Client({ name: 'globalmcp-bench-mcp-endpoint', version: '1.0.0' });
const transport = new StreamableHTTPClientTransport(new URL(options.url), {
  requestInit: { headers: options.headers ?? {} },
  // The SDK hands one long-lived AbortSignal to every fetch and undici adds a listener per request to it
  // (MaxListenersExceededWarning after ~1,500 calls, and a growing cost): the load never aborts, so drop it.
  fetch: (url, init) => fetch(url, { ...init, signal: undefined }),
});
const args = { name: options.tool ?? 'echo', arguments: { message: 'hello' } };

async function call() {
  const result = await client.callTool(args);
  if (result.isError) throw new Error(`echo failed: ${JSON.stringify(result)}`);
}

/** `callers` loops calling back to back for `seconds`; counts calls completed in the window. */
async function load(callers, seconds) {
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
  return {
    callers,
    completed,
    errors,
    ...(firstError ? { first_error: firstError } : {}),
    rps: Math.round(completed / seconds),
    latency: summarize(latencies),
  };
}

const result = { url: options.url, started_at: new Date().toISOString() };
try {
  await client.connect(transport);
  await client.listTools();
  for (let i = 0; i < (options.warmupCalls ?? 200); i++) await call();
  if (options.warmupSeconds) await load(16, options.warmupSeconds);
  const sequential = [];
  for (let i = 0; i < (options.sequential ?? 1000); i++) {
    const t0 = performance.now();
    await call();
    sequential.push(performance.now() - t0);
  }
  result.sequential = summarize(sequential);
  result.throughput = [];
  for (const callers of options.concurrency ?? [1, 16])
    result.throughput.push(await load(callers, options.seconds ?? 5));
} catch (error) {
  result.error = String(error?.stack ?? error);
} finally {
  await transport.terminateSession().catch(() => undefined);
  await client.close().catch(() => undefined);
  writeFileSync(output, JSON.stringify(result, null, 2));
}
process.exit(result.error ? 1 : 0);
