// Summarises a V8 .cpuprofile (from `node --cpu-prof`): self time per function and per area of the stack.
import { readFileSync } from 'node:fs';
import path from 'node:path';

/** Which part of the stack a script belongs to, from its URL (file path) and function name. */
export function areaOf(url, functionName) {
  if (functionName === '(garbage collector)') return 'GC';
  if (functionName === '(idle)') return 'idle';
  if (functionName === '(program)') return 'V8/native (program)';
  if (!url) {
    if (/^(stringify|parse|JSONParse|JSONStringify)$/.test(functionName)) return 'JSON (native)';
    return 'native/builtins';
  }
  const file = url.replace(/^file:\/\//, '');
  const nm = file.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const rest = file.slice(nm + '/node_modules/'.length).split('/');
    const pkg = rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
    return packageArea(pkg);
  }
  if (file.startsWith('node:')) {
    const mod = file.slice('node:'.length);
    if (/^internal\/(streams|stream_base)|^stream/.test(mod)) return 'Node streams';
    if (/net|tcp|dns|http|_http/.test(mod)) return 'Node net/http';
    if (/child_process|pipe/.test(mod)) return 'Node child_process/pipes';
    if (/timers|process\/task_queues|async_hooks|promise/.test(mod)) return 'Node timers/async';
    if (/events/.test(mod)) return 'Node events';
    if (/crypto/.test(mod)) return 'Node crypto';
    return `Node core (other)`;
  }
  const dist = file.indexOf('/dist/src/');
  if (dist >= 0) return `gateway: src/${file.slice(dist + '/dist/src/'.length).split('/')[0]}`;
  return `other: ${path.basename(file)}`;
}

const AREAS = [
  [
    /^(fastify|find-my-way|light-my-request|avvio|fast-json-stringify|fast-querystring|secure-json-parse|@fastify\/.*|content-type|fast-uri|toad-cache|process-warning|rfdc)$/,
    'Fastify',
  ],
  [/^@nestjs\/.*/, 'NestJS'],
  [/^(class-validator|class-transformer|validator|libphonenumber-js)$/, 'validation: class-validator/transformer'],
  [/^(ajv|ajv-formats|fast-deep-equal|json-schema-traverse)$/, 'validation: ajv (tool input schema)'],
  [/^zod$/, 'validation: zod (SDK messages)'],
  [
    /^(pino|pino-http|nestjs-pino|sonic-boom|thread-stream|pino-std-serializers|quick-format-unescaped|fast-redact|@pinojs\/.*|on-exit-leak-free|atomic-sleep|safe-stable-stringify)$/,
    'logging: pino',
  ],
  [/^@modelcontextprotocol\/sdk$/, 'MCP SDK'],
  [/^(prom-client|@willsoto\/.*|tdigest|bintrees)$/, 'metrics: prom-client'],
  [/^(rxjs|tslib|reflect-metadata)$/, 'rxjs/tslib/reflect-metadata'],
  [/^(typeorm|pg|pg-.*|pgpass|postgres-.*)$/, 'database: typeorm/pg'],
  [/^(cockatiel)$/, 'resilience: cockatiel'],
  [/^(cache-manager|keyv|@keyv\/.*|cacheable|@cacheable\/.*|hookified)$/, 'cache'],
];

function packageArea(pkg) {
  for (const [pattern, area] of AREAS) if (pattern.test(pkg)) return area;
  return `package: ${pkg}`;
}

/**
 * Self time per function and per area. When `window` ({ startUs, endUs } on the CLOCK_MONOTONIC scale V8 and
 * process.hrtime share on Linux) overlaps the profile, only samples inside it count: start-up and shutdown drop out.
 */
export function summarizeProfile(file, { window, top = 15 } = {}) {
  const profile = JSON.parse(readFileSync(file, 'utf8'));
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  let t = profile.startTime;
  const inWindow =
    window && window.endUs > profile.startTime && window.startUs < profile.endTime
      ? (ts) => ts >= window.startUs && ts <= window.endUs
      : null;
  const selfUs = new Map();
  for (let i = 0; i < profile.samples.length; i++) {
    const delta = profile.timeDeltas[i] ?? 0;
    t += delta;
    if (inWindow && !inWindow(t)) continue;
    // The interval up to the next sample is spent in this sample's function.
    const next = profile.timeDeltas[i + 1] ?? 0;
    selfUs.set(profile.samples[i], (selfUs.get(profile.samples[i]) ?? 0) + next);
  }

  // Native frames (socket/pipe/file writes, JSON, ...) say what, not why: charge them also to their nearest
  // JavaScript caller with a script URL, so "writeUtf8String" becomes "writeUtf8String from SDK stdio send".
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const callerFrame = (id) => {
    for (let p = parent.get(id); p !== undefined; p = parent.get(p)) {
      const frame = nodes.get(p).callFrame;
      if (frame.url && !frame.url.startsWith('node:')) return frame;
    }
    return null;
  };
  const jsCaller = (id) => {
    const frame = callerFrame(id);
    return frame
      ? `${frame.functionName || '(anonymous)'} (${shortUrl(frame.url)}:${frame.lineNumber + 1})`
      : '(no JS caller)';
  };
  // Area of a frame with native code and Node internals charged to the library/gateway code that called them.
  const attributedArea = (id, ownArea) => {
    const { url } = nodes.get(id).callFrame;
    if (url && !url.startsWith('node:')) return ownArea;
    if (ownArea === 'GC' || ownArea === 'V8/native (program)') return ownArea;
    const frame = callerFrame(id);
    return frame ? areaOf(frame.url, frame.functionName) : ownArea;
  };
  const byAttributedArea = new Map();
  const nativeByCaller = new Map();

  const byFunction = new Map();
  const byArea = new Map();
  let total = 0;
  let idle = 0;
  for (const [id, us] of selfUs) {
    const { functionName, url, lineNumber } = nodes.get(id).callFrame;
    const area = areaOf(url, functionName);
    if (area === 'idle') {
      idle += us;
      continue;
    }
    total += us;
    const name = functionName || '(anonymous)';
    const where = url ? `${shortUrl(url)}:${lineNumber + 1}` : '';
    const key = `${name}\u0000${where}`;
    const entry = byFunction.get(key) ?? { function: name, where, area, selfMs: 0 };
    entry.selfMs += us / 1000;
    byFunction.set(key, entry);
    byArea.set(area, (byArea.get(area) ?? 0) + us / 1000);
    const attributed = attributedArea(id, area);
    byAttributedArea.set(attributed, (byAttributedArea.get(attributed) ?? 0) + us / 1000);
    if (!url && area !== 'GC' && area !== 'V8/native (program)') {
      const callerKey = `${name}\u0000${jsCaller(id)}`;
      nativeByCaller.set(callerKey, (nativeByCaller.get(callerKey) ?? 0) + us / 1000);
    }
  }
  const pct = (ms) => Math.round((ms / (total / 1000)) * 1000) / 10;
  const r = (v) => Math.round(v * 10) / 10;
  return {
    file: path.basename(file),
    windowApplied: Boolean(inWindow),
    sampledMs: r((total + idle) / 1000),
    busyMs: r(total / 1000),
    idleMs: r(idle / 1000),
    topFunctions: [...byFunction.values()]
      .sort((a, b) => b.selfMs - a.selfMs)
      .slice(0, top)
      .map((f) => ({ ...f, selfMs: r(f.selfMs), pct: pct(f.selfMs) })),
    nativeByCaller: [...nativeByCaller.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 12)
      .map(([key, ms]) => {
        const [fn, caller] = key.split('\u0000');
        return { function: fn, caller, selfMs: r(ms), pct: pct(ms) };
      }),
    attributedAreas: [...byAttributedArea.entries()]
      .sort((a, b) => b[1] - a[1])
      .map(([area, ms]) => ({ area, selfMs: r(ms), pct: pct(ms) })),
    areas: [...byArea.entries()]
      .sort((a, b) => b[1] - a[1])
      .map(([area, ms]) => ({ area, selfMs: r(ms), pct: pct(ms) })),
  };
}

function shortUrl(url) {
  const file = url.replace(/^file:\/\//, '');
  const nm = file.lastIndexOf('/node_modules/');
  if (nm >= 0) return file.slice(nm + '/node_modules/'.length);
  const dist = file.indexOf('/dist/');
  if (dist >= 0) return file.slice(dist + 1);
  return file;
}
