// DIRECT baseline, run as its own process by bench/run.mjs: the MCP SDK client (this process) calls `echo` on its own
// server-everything over stdio (a second process). No gateway involved.
//
//   node bench/direct-load.mjs '<json options>' <output.json>
//
// Options: { sequential, warmupCalls, warmupSeconds, concurrency: [1,16,64], seconds, marker }
import { writeFileSync } from 'node:fs';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport, getDefaultEnvironment } from '@modelcontextprotocol/sdk/client/stdio.js';
import { EVERYTHING } from './lib/common.mjs';
import { measureCalls } from './lib/sdk-load.mjs';

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

const result = { started_at: new Date().toISOString() };
try {
  await client.connect(transport);
  result.server_pid = transport.pid;
  process.stdout.write(`SERVER_PID ${transport.pid}\n`);
  // The gateway lists tools once per connection, which also primes the SDK's output-schema cache: do the same.
  await client.listTools();

  Object.assign(
    result,
    await measureCalls(call, options, { warmupCalls: 1000, sequential: 2000, concurrency: [1, 16, 64] }),
  );
} catch (error) {
  result.error = String(error?.stack ?? error);
} finally {
  await client.close().catch(() => undefined);
  writeFileSync(output, JSON.stringify(result, null, 2));
}
process.exit(result.error ? 1 : 0);
