// The report of `npm run bench` (bench/run.mjs): the machine and build, the verdicts against the targets, and the
// markdown of bench/results/latest.md and profile-summary.md.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT, round3 } from './lib/common.mjs';
import { distDir } from './lib/gateway.mjs';
import { TARGETS } from './lib/run-context.mjs';
import { renderAuthPaths } from './auth-paths.mjs';
import { renderMcpFrontDoor } from './mcp-endpoint.mjs';
import { renderTracing } from './phase-tracing.mjs';

export function machine() {
  const git = (...args) => {
    try {
      return execFileSync('git', args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    } catch {
      return null;
    }
  };
  let build = null;
  try {
    build = JSON.parse(readFileSync(path.join(distDir(), 'build-info.json'), 'utf8'));
  } catch {
    // no build info
  }
  const cpus = os.cpus();
  return {
    date: new Date().toISOString(),
    commit: git('rev-parse', 'HEAD'),
    src_dirty: Boolean(git('status', '--porcelain', '--', 'src')),
    dist_build: build,
    node: process.version,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    cpus: cpus.length,
    cpu_model: cpus[0]?.model ?? null,
    memory_gb: Math.round(os.totalmem() / 2 ** 30),
    loadavg_at_start: os.loadavg().map((v) => Math.round(v * 100) / 100),
    sdk: readPkgVersion('@modelcontextprotocol/sdk'),
    server_everything: readPkgVersion('@modelcontextprotocol/server-everything'),
    autocannon: readPkgVersion('autocannon'),
  };
}

function readPkgVersion(name) {
  try {
    return JSON.parse(readFileSync(path.join(ROOT, 'node_modules', name, 'package.json'), 'utf8')).version;
  } catch {
    return null;
  }
}

export function computeVerdicts(r) {
  const d = r.direct;
  const g = r.gateway_pool1;
  const at = (list, c) => list.find((t) => (t.callers ?? t.connections) === c);
  const addedP50 = round3(g.sequential.p50 - d.sequential.p50);
  const addedP99 = round3(g.sequential.p99 - d.sequential.p99);
  const ratio16 = round3(at(g.throughput, 16).rps / at(d.throughput, 16).rps);
  // The footprint at rest (after V8's memory reducer), at start and after load; a quick run has only the raw reads.
  const x = r.rss_10_servers;
  const rss = !x
    ? null
    : x.idle_settled && x.after_load_settled
      ? Math.max(x.idle_settled.rss_mb, x.after_load_settled.rss_mb)
      : Math.max(x.idle.rss_mb, x.after_load.rss_mb);
  const v = (value, target, ok) => ({ value, target, met: value === null ? null : ok });
  return {
    added_p50_ms: v(addedP50, `≤ ${TARGETS.addedP50Ms} ms`, addedP50 <= TARGETS.addedP50Ms),
    added_p99_ms: v(addedP99, `≤ ${TARGETS.addedP99Ms} ms`, addedP99 <= TARGETS.addedP99Ms),
    throughput_ratio_16: v(ratio16, `≥ ${TARGETS.throughputRatio16}`, ratio16 >= TARGETS.throughputRatio16),
    rss_mb_10_servers: v(rss, `≤ ${TARGETS.rssMb} MB`, rss !== null && rss <= TARGETS.rssMb),
  };
}

export function renderMarkdown(r) {
  const m = r.machine;
  const d = r.direct;
  const g1 = r.gateway_pool1;
  const g2 = r.gateway_pool2;
  const v = r.verdicts;
  const mark = (x) => (x.met === null ? 'not measured' : x.met ? '**met**' : '**not met**');
  const tp = (list, c) => list?.find((t) => (t.callers ?? t.connections) === c);
  const ms = (x) => (x === null || x === undefined ? '–' : `${x.toFixed(3)} ms`);
  const lines = [];
  lines.push(
    `Run ${m.date} · commit \`${(m.commit ?? '?').slice(0, 12)}\`${m.src_dirty ? ' (src had uncommitted changes; dist built ' + (m.dist_build?.buildTime ?? '?') + ')' : ''} · ` +
      `${m.cpus} × ${m.cpu_model} · Node ${m.node} · SDK ${m.sdk} · server-everything ${m.server_everything} · ` +
      `gateway log level ${r.options.logLevel} · ${r.options.seconds} s per load step`,
    '',
    '| target (issue #3) | direct | gateway | result | target | |',
    '|---|---|---|---|---|---|',
    `| added latency p50 (sequential) | ${ms(d.sequential.p50)} | ${ms(g1.sequential.p50)} | +${v.added_p50_ms.value.toFixed(3)} ms | ${v.added_p50_ms.target} | ${mark(v.added_p50_ms)} |`,
    `| added latency p99 (sequential) | ${ms(d.sequential.p99)} | ${ms(g1.sequential.p99)} | +${v.added_p99_ms.value.toFixed(3)} ms | ${v.added_p99_ms.target} | ${mark(v.added_p99_ms)} |`,
    `| throughput, 16 callers | ${tp(d.throughput, 16).rps} calls/s | ${tp(g1.throughput, 16).rps} req/s | ${(v.throughput_ratio_16.value * 100).toFixed(0)}% of direct | ${v.throughput_ratio_16.target.replace('0.35', '35%')} | ${mark(v.throughput_ratio_16)} |`,
    `| gateway RSS, 10 stdio servers (${r.rss_10_servers?.after_load_settled ? 'at rest, after load; under load: ' + r.rss_10_servers.after_load.rss_mb + ' MB' : 'after load'}) | | ${v.rss_mb_10_servers.value ?? '–'} MB | | ${v.rss_mb_10_servers.target} | ${mark(v.rss_mb_10_servers)} |`,
    '',
    '| throughput (calls/s, p50 / p99 latency) | direct (1 stdio connection) | gateway, pool 1 | ' +
      (g2 ? 'gateway, pool 2 |' : ''),
    '|---|---|---|' + (g2 ? '---|' : ''),
  );
  for (const c of r.options.concurrency) {
    const cell = (t) => (t ? `${t.rps} (${ms(t.latency.p50)} / ${ms(t.latency.p99)})` : '–');
    lines.push(
      `| ${c} caller${c > 1 ? 's' : ''} | ${cell(tp(d.throughput, c))} | ${cell(tp(g1.throughput, c))} |${g2 ? ` ${cell(tp(g2.throughput, c))} |` : ''}`,
    );
  }
  if (g2) {
    lines.push(
      `| sequential p50 / p99 | ${ms(d.sequential.p50)} / ${ms(d.sequential.p99)} | ${ms(g1.sequential.p50)} / ${ms(g1.sequential.p99)} | ${ms(g2.sequential.p50)} / ${ms(g2.sequential.p99)} |`,
    );
  }
  lines.push('');
  if (r.auth_paths) lines.push(renderAuthPaths(r.auth_paths, v));
  if (r.mcp_front_door) lines.push(renderMcpFrontDoor(r.mcp_front_door));
  if (r.tracing) lines.push(renderTracing(r.tracing));
  if (r.rss_10_servers) {
    const x = r.rss_10_servers;
    lines.push(
      `RSS (gateway process only, VmRSS; the ${x.servers} server-everything children, PostgreSQL and watchdogs excluded): ` +
        `${x.idle.rss_mb} MB when all ${x.servers} were active (V8 heap used ${x.idle.heap_used_mb ?? '?'} MB of ${x.idle.heap_total_mb ?? '?'} MB), ` +
        `${x.after_load.rss_mb} MB after load (heap used ${x.after_load.heap_used_mb ?? '?'} of ${x.after_load.heap_total_mb ?? '?'} MB) ` +
        `(${x.load.map((l) => `${l.name}: ${l.rps} req/s`).join(', ')}); peak VmHWM ${x.after_load.hwm_mb} MB. ` +
        `Its descendants together: ${x.after_load.children_rss_mb} MB.` +
        (x.idle_settled && x.after_load_settled
          ? ` At rest, once V8's memory reducer has run (it gives memory back some tens of seconds after allocation ` +
            `stops): ${x.idle_settled.rss_mb} MB after start (waited ${x.idle_settled.waited_s} s, heap used ` +
            `${x.idle_settled.heap_used_mb ?? '?'} of ${x.idle_settled.heap_total_mb ?? '?'} MB), ${x.after_load_settled.rss_mb} MB ` +
            `after the load (waited ${x.after_load_settled.waited_s} s, heap used ${x.after_load_settled.heap_used_mb ?? '?'} of ` +
            `${x.after_load_settled.heap_total_mb ?? '?'} MB)` +
            (x.idle_settled.memory_reducer_ran && x.after_load_settled.memory_reducer_ran
              ? '.'
              : '; the memory reducer had not run by then.')
          : ''),
      '',
    );
  }
  if (r.rss_10_servers_heap_capped) {
    const x = r.rss_10_servers_heap_capped;
    lines.push(
      `Same with \`node ${x.node_args.join(' ')}\` (not a leak check by itself, but V8 then collects instead of growing): ` +
        `${x.idle.rss_mb} MB when active (heap used ${x.idle.heap_used_mb ?? '?'} MB), ${x.after_load.rss_mb} MB after load ` +
        `(heap used ${x.after_load.heap_used_mb ?? '?'} MB; ${x.load.map((l) => `${l.name}: ${l.rps} req/s`).join(', ')}).`,
      '',
    );
  }
  if (r.time_to_ready) {
    const t = r.time_to_ready;
    lines.push(
      `Time to ready (spawn → readiness 200, embedded PostgreSQL): fresh data dir ${t.fresh_ms} ms (server active with tools ${t.fresh_active_ms} ms); ` +
        `existing data dir ${t.existing_ms} ms (active ${t.existing_active_ms} ms). Graceful stop (SIGTERM → exit): ${t.stop_ms} ms.`,
      '',
    );
  }
  if (r.platform?.results) {
    lines.push('| platform (Nest, GET /ping, autocannon -c 50) | req/s | p50 | p99 |', '|---|---|---|---|');
    for (const p of r.platform.results)
      lines.push(`| ${p.platform} | ${p.rps} | ${ms(p.latency.p50)} | ${ms(p.latency.p99)} |`);
    lines.push('');
  }
  if (r.profile) {
    lines.push(
      `Profile (gateway under 16 connections, ${Math.round((r.profile.busyMs * 1000) / r.profile.load.completed)} µs CPU per request; see profile-summary.md): ` +
        r.profile.attributedAreas
          .slice(0, 8)
          .map((a) => `${a.area} ${a.pct}%`)
          .join(', ') +
        '.',
      '',
    );
  }
  if (r.leftover_processes?.length)
    lines.push(`**Leftover processes after cleanup: ${r.leftover_processes.length}**`, '');
  return lines.join('\n');
}

export function renderProfile(p) {
  const requests = p.load.completed;
  const perReq = (ms) => (requests ? Math.round((ms * 1000) / requests) : '–');
  const busyPerReq = perReq(p.busyMs);
  const lines = [
    '# CPU profile of the gateway under load',
    '',
    `Generated by \`npm run bench -- --profile --profile-with ${p.with ?? 'key'}\` (${p.date ?? ''}). \`node --cpu-prof\` on the gateway process only, ` +
      `${p.load.connections} autocannon connections for ${p.load.seconds} s: ${requests} echo calls, ${p.load.rps} req/s ` +
      '(the sampling profiler costs a few percent). ' +
      (p.windowApplied
        ? 'Only samples inside the measured load window count (start-up, warm-up and shutdown excluded). '
        : 'Whole-process profile (the load window could not be matched). ') +
      `Sampled ${p.sampledMs} ms: ${p.busyMs} ms busy (${Math.round((p.busyMs / p.sampledMs) * 100)}% of one core), ` +
      `${p.idleMs} ms idle. **CPU per request: ${busyPerReq} µs** on the gateway's one thread. ` +
      'Percentages are of busy time; µs/request = self time ÷ requests.',
    '',
    '## Where the time goes (native code and Node internals charged to the code that called them)',
    '',
    '| area | self ms | % of busy | µs/request |',
    '|---|---|---|---|',
    ...p.attributedAreas.map((a) => `| ${a.area} | ${a.selfMs} | ${a.pct}% | ${perReq(a.selfMs)} |`),
    '',
    '## By area of the sampled frame itself',
    '',
    '| area | self ms | % of busy | µs/request |',
    '|---|---|---|---|',
    ...p.areas.map((a) => `| ${a.area} | ${a.selfMs} | ${a.pct}% | ${perReq(a.selfMs)} |`),
    '',
    '## Native self time by nearest JavaScript caller (outside node: internals)',
    '',
    '| native function | called from | self ms | % of busy | µs/request |',
    '|---|---|---|---|---|',
    ...(p.nativeByCaller ?? []).map(
      (n) => `| \`${n.function}\` | \`${n.caller}\` | ${n.selfMs} | ${n.pct}% | ${perReq(n.selfMs)} |`,
    ),
    '',
    '## Top 15 functions (self time)',
    '',
    '| # | function | where | area | self ms | % of busy | µs/request |',
    '|---|---|---|---|---|---|---|',
    ...p.topFunctions.map(
      (f, i) =>
        `| ${i + 1} | \`${f.function}\` | ${f.where ? `\`${f.where}\`` : ''} | ${f.area} | ${f.selfMs} | ${f.pct}% | ${perReq(f.selfMs)} |`,
    ),
    '',
  ];
  return lines.join('\n');
}
