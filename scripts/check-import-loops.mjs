#!/usr/bin/env node
// Two rules of docs/architecture.md, checked on the sources of src/ (tests and __tests__ excluded: a test may reach
// anything it exercises):
// 1. No folder-level import loop: a loop exists when top-level folder A imports from folder B and B (directly or
//    through others) imports from A. Each strongly connected group of folders is printed with one import per edge.
//    Type-only imports count too: they are still a dependency a reader follows.
// 2. The engine (src/mcp) imports nothing from Nest, Fastify or the HTTP-facing modules: only itself, config/ and
//    third-party libraries. Its Nest wiring (ENGINE_NEST_WIRING) is the exception, named here.
// Exits 1 when either rule is broken. Usage: node scripts/check-import-loops.mjs [src directory]
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';

const root = resolve(dirname(new URL(import.meta.url).pathname), '..');
const src = resolve(process.argv[2] ?? join(root, 'src'));
// import/export ... from 'x', side-effect import 'x', import('x'), require('x').
const IMPORT =
  /(?:import|export)\s[^'";]*?from\s+['"]([^'"]+)['"]|import\s+['"]([^'"]+)['"]|(?:import|require)\(\s*['"]([^'"]+)['"]\s*\)/g;
const ENGINE = 'mcp';
const ENGINE_MAY_IMPORT = new Set([ENGINE, 'config']);
const ENGINE_NEST_WIRING = new Set(['mcp/mcp.module.ts', 'mcp/mcp-engine.service.ts']);
const HTTP_PACKAGES = /^(@nestjs\/|fastify$|fastify\/|@fastify\/)/;

function files(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === '__tests__' || name === 'node_modules' ? [] : files(path);
    return name.endsWith('.ts') && !name.endsWith('.spec.ts') && !name.endsWith('.d.ts') ? [path] : [];
  });
}

/** The top-level folder under src/ a file belongs to (files directly in src/ are the app shell: `.`). */
function folderOf(path) {
  const parts = relative(src, path).split(sep);
  return parts.length > 1 ? parts[0] : '.';
}

/** Strips comments so an import quoted in a comment is not counted (strings are left alone). */
const withoutComments = (text) => text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`\\])\/\/.*$/gm, '$1');

const edges = new Map();
const examples = new Map();
const engineViolations = [];
const sources = files(src);
for (const file of sources) {
  const from = folderOf(file);
  const text = withoutComments(readFileSync(file, 'utf8'));
  for (const match of text.matchAll(IMPORT)) {
    const spec = match[1] ?? match[2] ?? match[3];
    let target;
    if (spec.startsWith('src/')) target = join(src, spec.slice('src/'.length));
    else if (spec.startsWith('.')) target = resolve(dirname(file), spec);
    const to = target ? folderOf(target) : undefined;
    const wiring = ENGINE_NEST_WIRING.has(relative(src, file).split(sep).join('/'));
    if (from === ENGINE && !wiring && (to ? !ENGINE_MAY_IMPORT.has(to) : HTTP_PACKAGES.test(spec)))
      engineViolations.push(`${relative(root, file)} imports ${spec}`);
    if (!to || to === from || from === '.' || to === '.') continue;
    if (!edges.has(from)) edges.set(from, new Set());
    edges.get(from).add(to);
    const key = `${from}->${to}`;
    if (!examples.has(key)) examples.set(key, `${relative(root, file)} imports ${spec}`);
  }
}

// Tarjan's strongly connected components.
let index = 0;
const stack = [];
const meta = new Map();
const groups = [];
function visit(v) {
  meta.set(v, { index, low: index, on: true });
  index++;
  stack.push(v);
  for (const w of edges.get(v) ?? []) {
    if (!meta.has(w)) {
      visit(w);
      meta.get(v).low = Math.min(meta.get(v).low, meta.get(w).low);
    } else if (meta.get(w).on) meta.get(v).low = Math.min(meta.get(v).low, meta.get(w).index);
  }
  if (meta.get(v).low === meta.get(v).index) {
    const group = [];
    let w;
    do {
      w = stack.pop();
      meta.get(w).on = false;
      group.push(w);
    } while (w !== v);
    if (group.length > 1) groups.push(group.sort());
  }
}
for (const v of edges.keys()) if (!meta.has(v)) visit(v);

const folders = new Set(sources.map(folderOf).filter((f) => f !== '.'));
if (groups.length === 0) console.log(`import loops: none between the ${folders.size} folders of src/`);
for (const group of groups) {
  console.log(`import loop between: ${group.join(', ')}`);
  for (const a of group)
    for (const b of edges.get(a) ?? []) if (group.includes(b)) console.log(`  ${examples.get(`${a}->${b}`)}`);
}
if (engineViolations.length === 0)
  console.log(`engine (src/${ENGINE}): imports nothing from Nest, Fastify or HTTP-facing modules`);
for (const line of engineViolations) console.log(`engine import not allowed: ${line}`);
process.exit(groups.length > 0 || engineViolations.length > 0 ? 1 : 0);
