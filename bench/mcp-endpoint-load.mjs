// MCP-over-HTTP load, run as its own process by bench/mcp-endpoint.mjs: the MCP SDK client (this process) opens one
// Streamable HTTP session to `url` and calls `echo` there, like direct-load.mjs does over stdio. Used for the
// gateway's /mcp/{server_id}, supergateway and mcp-proxy, each fronting server-everything.
//
//   node bench/mcp-endpoint-load.mjs '<json options>' <output.json>
//
// Options: { url, headers, tool, sequential, warmupCalls, warmupSeconds, concurrency: [1,16], seconds }
import { writeFileSync } from 'node:fs';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { measureCalls } from './lib/sdk-load.mjs';

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

const result = { url: options.url, started_at: new Date().toISOString() };
try {
  await client.connect(transport);
  await client.listTools();
  Object.assign(
    result,
    await measureCalls(call, options, { warmupCalls: 200, sequential: 1000, concurrency: [1, 16] }),
  );
} catch (error) {
  result.error = String(error?.stack ?? error);
} finally {
  await transport.terminateSession().catch(() => undefined);
  await client.close().catch(() => undefined);
  writeFileSync(output, JSON.stringify(result, null, 2));
}
process.exit(result.error ? 1 : 0);
