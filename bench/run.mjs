#!/usr/bin/env node
// globalmcp benchmark: the `echo` tool of server-everything called directly with the MCP SDK client over stdio and
// through the gateway's REST API and MCP front door, in one run; plus the callers (API key, bearer tokens, the
// bare-proxy limit), tracing on vs off, gateway RSS with 10 stdio servers, time to ready, and the Fastify-vs-Express
// platform check. Every party runs in its own process:
//
//   this orchestrator ─┬─ direct-load.mjs (SDK client = load generator) ── server-everything
//                      ├─ gateway (node dist/src/main.js) ─┬─ server-everything ×N, embedded PostgreSQL, watchdogs
//                      ├─ gateway-load.mjs, mcp-raw-load.mjs (autocannon = load generator)
//                      ├─ oidc-issuer.mjs (a real OpenID Provider), bare-proxy.mjs (the bare-proxy limit)
//                      ├─ supergateway, mcp-proxy (each ── its own server-everything), otlp-sink.mjs
//                      └─ platform.mjs (Nest ping servers + autocannon)
//
// This file is the order of the phases; each phase is a module: phase-rest.mjs, auth-paths.mjs, mcp-endpoint.mjs,
// phase-tracing.mjs, phase-rss.mjs, phase-profile.mjs; report.mjs renders; lib/ holds the options (run-context),
// the gateway's start/stop (gateway) and the process bookkeeping (processes).
//
// Usage: node bench/run.mjs [--profile] [--quick] [--build] [--no-pool2] [--no-platform] [--no-mcp-endpoint]
//                           [--no-auth-paths] [--no-tracing] [--auth-only] [--dist DIR]
//                           [--profile-with key|hs256|rs256|mcp2025|mcp2026[-aggregated]] [--profile-tracing]
//                           [--profile-seconds N] [--log-level INFO] [--keep-temp] [--soak ...]
// Writes bench/results/latest.json and latest.md (and profile-summary.md with --profile); --auth-only (the caller
// phase alone) writes auth-only.json and auth-only.md instead (and auth-only-profile.md with --profile).
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { buildIfNeeded, cleanEnv, killGroup, snapshotDist } from './lib/common.mjs';
import { startGateway, stopGateway } from './lib/gateway.mjs';
import { cleanupAll, runWorker, spawnTracked, tracked } from './lib/processes.mjs';
import {
  AUTH,
  HS256_SECRET,
  MARKER,
  OPTS,
  QUICK,
  RESULTS_DIR,
  SNAPSHOT_DIR,
  T0,
  TARGETS,
  TEMP,
  flags,
  initRun,
  log,
  state,
} from './lib/run-context.mjs';
import { measureDirect, measureGateway, measurePlatform } from './phase-rest.mjs';
import { measureRss } from './phase-rss.mjs';
import { measureProfile } from './phase-profile.mjs';
import { measureTracing } from './phase-tracing.mjs';
import { computeVerdicts, machine, renderMarkdown, renderProfile } from './report.mjs';
import { measureMcpFrontDoor } from './mcp-endpoint.mjs';
import { authVerdicts, measureAuthPaths, renderAuthPaths, startOidcIssuer } from './auth-paths.mjs';

// `--soak`: the long mixed-load run of bench/soak.mjs instead (it shares nothing with the phases below).
if (process.argv.includes('--soak')) process.exit(await (await import('./soak.mjs')).runSoak(process.argv.slice(2)));

initRun();

// ------------------------------------------------------------------------------------------------ main

const summarizeAuthPaths = (a) =>
  Object.entries(a)
    .map(([k, s]) => `${k} ${s.rps ?? 'failed'}/s${s.cpu_us_per_call ? ` (${s.cpu_us_per_call} µs CPU/call)` : ''}`)
    .join(', ');

/** The --auth-only run: measure, clean up, write auth-only.{json,md}. */
async function finishAuthOnly(results, dataDir) {
  try {
    await mainAuthOnly(results, dataDir);
  } finally {
    await state.oidc?.stop();
    results.leftover_processes = await cleanupAll();
    if (!flags.has('--keep-temp')) rmSync(TEMP, { recursive: true, force: true });
  }
  results.machine.loadavg_at_end = os.loadavg().map((v) => Math.round(v * 100) / 100);
  results.verdicts = authVerdicts(results.auth_paths);
  const m = results.machine;
  const md =
    `Run ${m.date} · commit \`${(m.commit ?? '?').slice(0, 12)}\` · build ${m.dist_build?.commit ?? '?'} ` +
    `(${OPTS.dist ? `--dist ${OPTS.dist}` : 'dist/'}) · load average ${m.loadavg_at_start.join(' ')} at the start, ` +
    `${m.loadavg_at_end.join(' ')} at the end · ${OPTS.seconds} s per step after ${OPTS.warmupSeconds} s of warm-up\n\n` +
    renderAuthPaths(results.auth_paths, results.verdicts);
  mkdirSync(RESULTS_DIR, { recursive: true });
  writeFileSync(path.join(RESULTS_DIR, 'auth-only.json'), `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(path.join(RESULTS_DIR, 'auth-only.md'), `# Callers (--auth-only)\n\n${md}\n`);
  if (results.profile) writeFileSync(path.join(RESULTS_DIR, 'auth-only-profile.md'), renderProfile(results.profile));
  process.stdout.write(`\n${md}\n`);
  log(`callers: ${summarizeAuthPaths(results.auth_paths)}; leftover processes: ${results.leftover_processes.length}`);
  if (results.leftover_processes.length) process.exitCode = 1;
}

const TEMP_RESULTS = () => (mkdirSync(RESULTS_DIR, { recursive: true }), RESULTS_DIR);

/** --tracing-only (with --profile: the profile of one gateway, tracing as --profile-tracing says): the tracing phase alone (off, on, on, off), for before/after comparisons; nothing is written. */
async function finishTracingOnly(results, dataDir) {
  try {
    if (OPTS.profile) results.profile = await measureProfile(dataDir);
    else results.tracing = await measureTracing(dataDir, { spawnTracked, cleanEnv, marker: MARKER });
  } finally {
    results.leftover_processes = await cleanupAll();
    if (!flags.has('--keep-temp')) rmSync(TEMP, { recursive: true, force: true });
  }
  if (results.profile) {
    writeFileSync(path.join(TEMP_RESULTS(), 'tracing-only-profile.md'), renderProfile(results.profile));
    log(`profile written to bench/results/tracing-only-profile.md`);
    return;
  }
  const { off, on, sink, verdict } = results.tracing;
  log(
    `tracing: off ${off?.rps}/s (${off?.cpu_us_per_call} µs/call), on ${on?.rps}/s (${on?.cpu_us_per_call} µs/call), ` +
      `on ÷ off ${verdict.value}; sink ${JSON.stringify(sink)}; load average ${os
        .loadavg()
        .map((v) => v.toFixed(2))
        .join(' ')}; ` +
      `leftover processes: ${results.leftover_processes.length}`,
  );
  if (results.leftover_processes.length) process.exitCode = 1;
}

/** What bench/auth-paths.mjs needs of this orchestrator. */
const authContext = () => ({
  opts: OPTS,
  quick: QUICK,
  runWorker,
  spawnTracked,
  cleanEnv,
  log,
  marker: MARKER,
  apiKeyHeaders: AUTH,
  hs256Secret: HS256_SECRET,
  oidc: state.oidc,
});

/** --auth-only: the caller phase alone on one gateway (a few seconds per caller), for before/after comparisons. */
async function mainAuthOnly(results, dataDir) {
  const gw = await startGateway({ name: 'callers', dataDir, servers: [{ id: 'everything', poolSize: 1 }] });
  try {
    results.auth_paths = await measureAuthPaths(gw, authContext());
  } finally {
    await stopGateway(gw);
  }
  if (OPTS.profile) results.profile = await measureProfile(dataDir);
}

async function main() {
  const results = { options: { ...OPTS, quick: QUICK }, targets: TARGETS };
  if (!OPTS.dist) {
    buildIfNeeded(flags.has('--build'), log);
    await snapshotDist(path.join(SNAPSHOT_DIR, 'dist'), log);
  }
  results.machine = machine();
  const dataDir = path.join(TEMP, 'data');
  // Before any gateway starts: their configuration names the provider as the OAuth2 issuer.
  if (OPTS.authPaths || OPTS.authOnly) state.oidc = await startOidcIssuer(authContext());
  if (OPTS.authOnly) return finishAuthOnly(results, dataDir);
  if (OPTS.tracingOnly) return finishTracingOnly(results, dataDir);
  let gw;
  try {
    results.direct = await measureDirect();
    delete results.direct.server_pid;
    log(
      `direct: p50 ${results.direct.sequential.p50} ms, p99 ${results.direct.sequential.p99} ms; ` +
        results.direct.throughput.map((t) => `${t.callers}: ${t.rps}/s`).join(', '),
    );

    // Gateway, pool 1, on a fresh data dir (its start is the "fresh" time to ready).
    log('gateway (pool size 1): starting on a fresh data dir');
    gw = await startGateway({ name: 'pool1', dataDir, servers: [{ id: 'everything', poolSize: 1 }] });
    const ttr = { fresh_ms: Math.round(gw.readyMs), fresh_active_ms: Math.round(gw.activeMs) };
    log(`gateway ready in ${ttr.fresh_ms} ms (server active ${ttr.fresh_active_ms} ms); measuring`);
    results.gateway_pool1 = await measureGateway(gw, OPTS.concurrency);
    log(
      `gateway pool 1: p50 ${results.gateway_pool1.sequential.p50} ms, p99 ${results.gateway_pool1.sequential.p99} ms; ` +
        results.gateway_pool1.throughput.map((t) => `${t.connections}: ${t.rps}/s`).join(', '),
    );
    if (OPTS.authPaths) {
      results.auth_paths = await measureAuthPaths(gw, authContext());
      log(`callers, 16 connections: ${summarizeAuthPaths(results.auth_paths)}`);
    }
    if (OPTS.mcpEndpoint) {
      results.mcp_front_door = await measureMcpFrontDoor({
        gateway: { api: gw.api, pid: gw.pid },
        headers: AUTH,
        opts: OPTS,
        runWorker,
        spawnTracked,
        cleanEnv,
        log,
        marker: MARKER,
      });
      log(
        'mcp front door, 16 connections: ' +
          Object.entries(results.mcp_front_door.rows)
            .map(([k, v]) => `${k} ${v.steps?.find((s) => s.name === 'c16')?.rps ?? 'failed'}/s`)
            .join(', '),
      );
    }
    await stopGateway(gw);
    ttr.stop_ms = Math.round(gw.stopMs);

    // Same configuration, existing data dir: time to ready only.
    gw = await startGateway({ name: 'restart', dataDir, servers: [{ id: 'everything', poolSize: 1 }] });
    ttr.existing_ms = Math.round(gw.readyMs);
    ttr.existing_active_ms = Math.round(gw.activeMs);
    log(`restart on the existing data dir: ready in ${ttr.existing_ms} ms`);
    await stopGateway(gw);
    results.time_to_ready = ttr;

    if (OPTS.tracing) {
      results.tracing = await measureTracing(dataDir, { spawnTracked, cleanEnv, marker: MARKER });
      log(
        `tracing: off ${results.tracing.off?.rps}/s, on ${results.tracing.on?.rps}/s (${results.tracing.verdict.value})`,
      );
    }

    if (OPTS.pool2) {
      log('gateway (pool size 2)');
      gw = await startGateway({ name: 'pool2', dataDir, servers: [{ id: 'everything', poolSize: 2 }] });
      results.gateway_pool2 = await measureGateway(
        gw,
        OPTS.concurrency.filter((c) => c > 1),
      );
      log(`gateway pool 2: ` + results.gateway_pool2.throughput.map((t) => `${t.connections}: ${t.rps}/s`).join(', '));
      await stopGateway(gw);
    }

    results.rss_10_servers = await measureRss(dataDir);
    log(
      `RSS: ${results.rss_10_servers.idle.rss_mb} MB idle, ${results.rss_10_servers.after_load.rss_mb} MB after load`,
    );
    if (OPTS.heapCapMb) {
      results.rss_10_servers_heap_capped = await measureRss(dataDir, OPTS.heapCapMb);
      const c = results.rss_10_servers_heap_capped;
      log(
        `RSS with a ${OPTS.heapCapMb} MB old-space cap: ${c.idle.rss_mb} MB idle, ${c.after_load.rss_mb} MB after load`,
      );
    }

    if (OPTS.platform) results.platform = await measurePlatform();
    if (OPTS.profile) results.profile = await measureProfile(dataDir);
  } finally {
    await stopGateway(gw).catch(() => undefined);
    await state.oidc?.stop();
    results.leftover_processes = await cleanupAll();
    if (!flags.has('--keep-temp')) rmSync(TEMP, { recursive: true, force: true });
  }
  results.machine.loadavg_at_end = os.loadavg().map((v) => Math.round(v * 100) / 100);
  results.verdicts = {
    ...computeVerdicts(results),
    ...(results.auth_paths ? authVerdicts(results.auth_paths) : {}),
    ...(results.mcp_front_door?.verdicts ?? {}),
    ...(results.tracing ? { tracing_on_vs_off: results.tracing.verdict } : {}),
  };
  results.duration_s = Math.round((performance.now() - T0) / 100) / 10;

  mkdirSync(RESULTS_DIR, { recursive: true });
  writeFileSync(path.join(RESULTS_DIR, 'latest.json'), `${JSON.stringify(results, null, 2)}\n`);
  const md = renderMarkdown(results);
  writeFileSync(path.join(RESULTS_DIR, 'latest.md'), `# Latest benchmark results\n\n${md}\n`);
  if (results.profile) writeFileSync(path.join(RESULTS_DIR, 'profile-summary.md'), renderProfile(results.profile));
  process.stdout.write(`\n${md}\n`);
  log(`done in ${results.duration_s} s; leftover processes: ${results.leftover_processes.length}`);
  if (results.leftover_processes.length) process.exitCode = 1;
}

let interrupted = false;
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, async () => {
    if (interrupted) return;
    interrupted = true;
    log(`${signal}: stopping everything`);
    await cleanupAll();
    rmSync(TEMP, { recursive: true, force: true });
    process.exit(130);
  });
}
// Last resort for an unexpected exit: SIGKILL every process group we started.
process.on('exit', () => {
  for (const child of tracked) if (child.exitCode === null && child.signalCode === null) killGroup(child.pid);
});

main().catch(async (error) => {
  process.stderr.write(`bench failed: ${error?.stack ?? error}\n`);
  const left = await cleanupAll();
  if (left.length) process.stderr.write(`leftover processes: ${JSON.stringify(left)}\n`);
  rmSync(TEMP, { recursive: true, force: true });
  process.exit(1);
});
