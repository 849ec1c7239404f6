#!/usr/bin/env node
// How long one stdio MCP call takes when the server has been idle for a while: the official SDK client calling
// server-everything's `echo` 300 times per gap (0, 1, 3, 10 ms of sleep between calls), p50/p90 per gap. On a
// virtual machine a process that slept a few milliseconds answers later; a sequential call through the gateway wakes
// several such processes (docs/benchmarks.md, "Latest results"). Loopback only; ends its child on exit.
//
//   node bench/idle-wake.mjs
import { createRequire } from 'node:module';
const require = createRequire(new URL('../package.json', import.meta.url));
const { Client } = require('@modelcontextprotocol/sdk/client/index.js');
const { StdioClientTransport } = require('@modelcontextprotocol/sdk/client/stdio.js');
const everything = require.resolve('@modelcontextprotocol/server-everything/dist/index.js');
const client = new Client({ name: 'w', version: '1' });
await client.connect(
  new StdioClientTransport({ command: process.execPath, args: [everything, 'stdio'], stderr: 'ignore' }),
);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
for (const gap of [0, 1, 3, 10]) {
  const t = [];
  for (let i = 0; i < 300; i++) {
    if (gap) await sleep(gap);
    const s = performance.now();
    await client.callTool({ name: 'echo', arguments: { message: 'hi' } });
    t.push(performance.now() - s);
  }
  t.sort((a, b) => a - b);
  console.log(`gap ${gap} ms: p50 ${t[150].toFixed(3)} ms, p90 ${t[270].toFixed(3)} ms`);
}
await client.close();
