#!/usr/bin/env node
// A/B of two gateway builds on the MCP front door, in one run: both gateways up side by side (each its own embedded
// PostgreSQL and server-everything), the raw JSON-RPC load of bench/mcp-raw-load.mjs on /mcp/everything alternating
// between them (A B B A A B ...), 16 connections, with each gateway's CPU µs per call from /proc. For a hot-path
// change measured on a shared machine: interleaving puts both builds under the same neighbours.
//
//   node bench/ab-front-door.mjs --before DIR --after DIR [--protocol 2025-11-25|2026-07-28] [--rounds 3] [--seconds 5]
//     [--before-node-args '...'] [--after-node-args '...']   (Node/V8 flags of each gateway: A/B of one build's flags)
//
// DIR is a build's dist/ (under the project, so that node_modules resolves). Prints a markdown table.
import { rmSync } from 'node:fs';
import path from 'node:path';
import { startGateway, stopGateway } from './lib/gateway.mjs';
import { cleanupAll, runWorker } from './lib/processes.mjs';
import { AUTH, argValue, initRun, log } from './lib/run-context.mjs';

const before = path.resolve(argValue('--before', ''));
const after = path.resolve(argValue('--after', ''));
const protocol = argValue('--protocol', '2025-11-25');
const rounds = Number(argValue('--rounds', '3'));
const seconds = Number(argValue('--seconds', '5'));
const temp = initRun();

const flags = (name) => argValue(name, '').split(/\s+/).filter(Boolean);
const builds = {
  before: { dist: before, nodeArgs: flags('--before-node-args') },
  after: { dist: after, nodeArgs: flags('--after-node-args') },
};
const rows = [];
try {
  for (const [name, b] of Object.entries(builds)) {
    log(`starting ${name} (${b.dist}${b.nodeArgs.length ? `, node ${b.nodeArgs.join(' ')}` : ''})`);
    b.gw = await startGateway({
      name: `ab-${name}`,
      dataDir: path.join(temp, `data-${name}`),
      servers: [{ id: 'everything', poolSize: 1 }],
      dist: b.dist,
      nodeArgs: b.nodeArgs,
    });
  }
  const load = (b, steps) =>
    runWorker('mcp-raw-load.mjs', {
      url: `${b.gw.api}/mcp/everything`,
      headers: AUTH,
      protocol,
      cpuPid: b.gw.pid,
      steps,
    });
  for (const b of Object.values(builds)) await load(b, [{ name: 'warmup', connections: 16, seconds: 3 }]);
  for (let round = 1; round <= rounds; round++) {
    const order = round % 2 ? ['before', 'after'] : ['after', 'before'];
    for (const name of order) {
      const result = await load(builds[name], [{ name: 'c16', connections: 16, seconds }]);
      const s = result.steps[0];
      rows.push({ round, name, rps: s.rps, cpu: s.cpu_us_per_call, bad: s.non2xx + s.rpc_errors + s.unexpected });
      log(`round ${round} ${name}: ${s.rps} calls/s, ${s.cpu_us_per_call} µs CPU/call`);
    }
  }
} finally {
  for (const b of Object.values(builds)) await stopGateway(b.gw).catch(() => undefined);
  const left = await cleanupAll();
  if (left.length) log(`leftover processes: ${left.length}`);
  rmSync(temp, { recursive: true, force: true });
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
process.stdout.write(
  `\n| round | build | calls/s | CPU µs/call | non-2xx + errors |\n|---|---|---|---|---|\n` +
    rows.map((r) => `| ${r.round} | ${r.name} | ${r.rps} | ${r.cpu} | ${r.bad} |`).join('\n') +
    '\n\n' +
    ['before', 'after']
      .map((n) => {
        const mine = rows.filter((r) => r.name === n);
        return `${n}: median ${median(mine.map((r) => r.rps))} calls/s, ${median(mine.map((r) => r.cpu))} µs CPU/call`;
      })
      .join('\n') +
    '\n',
);
