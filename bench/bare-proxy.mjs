// The bare-proxy limit for `npm run bench`: the cheapest HTTP hop in front of the same server, i.e. a bare Fastify
// route forwarding to one MCP SDK client over stdio to server-everything: no auth, validation, audit, metrics or
// logs. Same route and body as the gateway's per-server tool route, so bench/gateway-load.mjs drives both alike.
// Run as its own process by bench/auth-paths.mjs:
//
//   node bench/bare-proxy.mjs '{"marker":"GLOBALMCP_BENCH_RUN=..."}'
//
// Prints `READY <url>` once the SDK client is connected; stops (closing the client and its child) on SIGTERM.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import Fastify from 'fastify';
import { EVERYTHING } from './lib/common.mjs';

const options = JSON.parse(process.argv[2] ?? '{}');
const [markerKey, markerValue] = (options.marker ?? '=').split('=');
const client = new Client({ name: 'bare-proxy', version: '1.0.0' });
await client.connect(
  new StdioClientTransport({
    command: process.execPath,
    args: [EVERYTHING, 'stdio'],
    env: { ...process.env, ...(markerKey ? { [markerKey]: markerValue } : {}) },
    stderr: 'ignore',
  }),
);
await client.listTools();

const app = Fastify({ logger: false });
app.post('/api/servers/:id/tools/:tool', async (request) => ({
  result: await client.callTool({ name: request.params.tool, arguments: request.body }),
}));
const url = await app.listen({ port: 0, host: '127.0.0.1' });
process.stdout.write(`READY ${url}\n`);
process.on('SIGTERM', async () => {
  await app.close();
  await client.close();
  process.exit(0);
});
