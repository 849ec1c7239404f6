#!/usr/bin/env node
// SDK 1.32 (`@modelcontextprotocol/sdk` Client) against SDK 2.4 (`@modelcontextprotocol/client` Client) as the engine
// would use them, against the same servers (ADR 0012, issue #13 item 9). Loopback only, bounded, ends its children.
//
//   stdio: server-everything (a 2025 server; both clients speak 2025-11-25 to it), `echo` calls
//   http:  test/fixtures/servers/modern-upstream.js serving both eras (MODERN_UPSTREAM_LEGACY=stateless):
//          SDK 1 speaks 2025 (stateless), SDK 2 speaks 2026-07-28 (pinned), `echo` calls
//
// Per client and transport: connect time, sequential latency (p50/p90), throughput with 16 calls in flight, and the
// client process's CPU per call (process.cpuUsage around the concurrent phase: the servers' CPU is not counted). The
// order of the clients alternates between rounds; each figure is the median of the rounds.
//
//   node bench/sdk-generations.mjs [--rounds 3] [--calls 1500]
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';

const require = createRequire(new URL('../package.json', import.meta.url));
const { values } = parseArgs({ options: { rounds: { type: 'string' }, calls: { type: 'string' } } });
const ROUNDS = Math.min(Number(values.rounds ?? 3), 10);
const CALLS = Math.min(Number(values.calls ?? 1500), 20_000);
const IN_FLIGHT = 16;

const v1 = {
  Client: require('@modelcontextprotocol/sdk/client/index.js').Client,
  Stdio: require('@modelcontextprotocol/sdk/client/stdio.js').StdioClientTransport,
  Http: require('@modelcontextprotocol/sdk/client/streamableHttp.js').StreamableHTTPClientTransport,
};
const v2 = require('@modelcontextprotocol/client');
const v2Stdio = require('@modelcontextprotocol/client/stdio').StdioClientTransport;
const everything = require.resolve('@modelcontextprotocol/server-everything/dist/index.js');
const fixture = new URL('../test/fixtures/servers/modern-upstream.js', import.meta.url).pathname;

const children = [];
process.on('exit', () => children.forEach((c) => c.kill('SIGKILL')));
const http = spawn(process.execPath, [fixture, '0'], {
  env: { ...process.env, MODERN_UPSTREAM_LEGACY: 'stateless' },
  stdio: ['ignore', 'pipe', 'inherit'],
});
children.push(http);
const port = await new Promise((resolve) =>
  http.stdout.on('data', (d) => {
    const m = /listening (\d+)/.exec(String(d));
    if (m) resolve(Number(m[1]));
  }),
);
const url = new URL(`http://127.0.0.1:${port}/mcp`);
const stdioParams = { command: process.execPath, args: [everything, 'stdio'], stderr: 'ignore' };

const PIN = { versionNegotiation: { mode: { pin: '2026-07-28' } } };
/** A client of `Client` over `transport()` calling `echo` with `args`. */
const variant = (Client, options, transport, args) => ({
  connect: async () => {
    const c = new Client({ name: 'b', version: '1' }, options);
    await c.connect(transport());
    return c;
  },
  call: (c) => c.callTool({ name: 'echo', arguments: args }),
});
const variants = {
  'stdio sdk1': variant(v1.Client, {}, () => new v1.Stdio(stdioParams), { message: 'hi' }),
  'stdio sdk2': variant(v2.Client, {}, () => new v2Stdio(stdioParams), { message: 'hi' }),
  'http sdk1 (2025)': variant(v1.Client, {}, () => new v1.Http(url), { text: 'hi' }),
  'http sdk2 (2026-07-28)': variant(v2.Client, PIN, () => new v2.StreamableHTTPClientTransport(url), { text: 'hi' }),
};

async function measure(variant) {
  const t0 = performance.now();
  const client = await variant.connect();
  const connectMs = performance.now() - t0;
  for (let i = 0; i < 100; i++) await variant.call(client); // warm-up
  const seq = [];
  for (let i = 0; i < Math.min(CALLS, 1000); i++) {
    const s = performance.now();
    await variant.call(client);
    seq.push(performance.now() - s);
  }
  seq.sort((a, b) => a - b);
  const cpu0 = process.cpuUsage();
  const c0 = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (next++ < CALLS) await variant.call(client);
    }),
  );
  const elapsed = performance.now() - c0;
  const cpu = process.cpuUsage(cpu0);
  await client.close();
  return {
    connectMs,
    p50: seq[Math.floor(seq.length * 0.5)],
    p90: seq[Math.floor(seq.length * 0.9)],
    perSec: (CALLS / elapsed) * 1000,
    cpuUsPerCall: (cpu.user + cpu.system) / CALLS,
  };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const names = Object.keys(variants);
const results = Object.fromEntries(names.map((n) => [n, []]));
for (let round = 0; round < ROUNDS; round++) {
  const order = round % 2 === 0 ? names : [...names].reverse();
  for (const name of order) results[name].push(await measure(variants[name]));
}
const load = (await import('node:os'))
  .loadavg()
  .map((l) => l.toFixed(2))
  .join(' ');
console.log(`node ${process.version}, ${ROUNDS} rounds x ${CALLS} calls, ${IN_FLIGHT} in flight; load average ${load}`);
for (const name of names) {
  const r = results[name];
  const m = (k) => median(r.map((x) => x[k]));
  console.log(
    `${name.padEnd(24)} connect ${m('connectMs').toFixed(1)} ms | seq p50 ${m('p50').toFixed(3)} ms p90 ${m('p90').toFixed(3)} ms | ` +
      `${m('perSec').toFixed(0)} calls/s | client CPU ${m('cpuUsPerCall').toFixed(0)} µs/call`,
  );
}

// What the engine's negotiation costs a 2025 HTTP upstream (server-everything over Streamable HTTP): its connect is
// the SDK 2 `server/discover` probe (refused) followed by SDK 1's `initialize`, against `initialize` alone.
const legacyPort = port + 1 + Math.floor(Math.random() * 1000);
const legacyServer = spawn(process.execPath, [everything, 'streamableHttp'], {
  env: { PATH: process.env.PATH, PORT: String(legacyPort) },
  stdio: 'ignore',
});
children.push(legacyServer);
const legacyUrl = new URL(`http://127.0.0.1:${legacyPort}/mcp`);
for (let i = 0; i < 100; i++) {
  if (
    await fetch(legacyUrl).then(
      () => true,
      () => false,
    )
  )
    break;
  await new Promise((r) => setTimeout(r, 100));
}
const connects = { initialize: [], 'probe + initialize': [] };
for (let i = 0; i < 20; i++) {
  for (const kind of i % 2 ? Object.keys(connects).reverse() : Object.keys(connects)) {
    const s = performance.now();
    if (kind !== 'initialize') {
      const probe = new v2.Client({ name: 'b', version: '1' }, PIN);
      await probe.connect(new v2.StreamableHTTPClientTransport(legacyUrl)).catch(() => probe.close());
    }
    const c = new v1.Client({ name: 'b', version: '1' });
    await c.connect(new v1.Http(legacyUrl));
    connects[kind].push(performance.now() - s);
    await c.close();
  }
}
for (const [kind, xs] of Object.entries(connects)) {
  console.log(`2025 http upstream connect, ${kind.padEnd(18)} median ${median(xs).toFixed(1)} ms over ${xs.length}`);
}
http.kill('SIGTERM');
legacyServer.kill('SIGTERM');
process.exit(0);
