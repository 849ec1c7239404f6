// The --profile phase of `npm run bench` (bench/run.mjs): one more gateway under `node --cpu-prof`, loaded at 16
// connections, its profile summarised over the measured window only (bench/lib/profile.mjs). With --profile-tracing
// the gateway traces every request (sampling 1.0) to bench/otlp-sink.mjs, as the tracing phase's "on" gateway.
import { mkdirSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { summarizeProfile } from './lib/profile.mjs';
import { startGateway, stopGateway } from './lib/gateway.mjs';
import { cleanEnv } from './lib/common.mjs';
import { runWorker, spawnTracked } from './lib/processes.mjs';
import { AUTH, HS256_SECRET, MARKER, OPTS, TEMP, log, state } from './lib/run-context.mjs';
import { hs256Token, oidcAccessToken, startReady, stopChild } from './auth-paths.mjs';

export async function measureProfile(dataDir) {
  const profDir = path.join(TEMP, 'cpuprof');
  mkdirSync(profDir, { recursive: true });
  const traced = OPTS.profileTracing
    ? await startReady({ spawnTracked, cleanEnv, marker: MARKER }, 'otlp-sink.mjs', {})
    : null;
  log(
    `profile: gateway under node --cpu-prof, ${OPTS.profileWith}${traced ? ', tracing on' : ''}, 16 connections for ${OPTS.profileSeconds} s`,
  );
  const gw = await startGateway({
    name: 'profile',
    dataDir,
    servers: [{ id: 'everything', poolSize: 1 }],
    cpuProfDir: profDir,
    ...(traced ? { tracing: { endpoint: traced.words[0] } } : {}),
  });
  const window = {};
  let load;
  try {
    // --profile-with mcp2025 | mcp2026 [-aggregated]: the MCP front door (/mcp/everything, or /mcp with the
    // namespaced tool) under raw JSON-RPC load instead of the REST route.
    const mcp = /^mcp(2025|2026)(-aggregated)?$/.exec(OPTS.profileWith);
    load = await runWorker(
      mcp ? 'mcp-raw-load.mjs' : 'gateway-load.mjs',
      {
        url: mcp ? `${gw.api}${mcp[2] ? '/mcp' : '/mcp/everything'}` : gw.api,
        ...(mcp?.[2] ? { tool: 'everything__echo' } : {}),
        headers: mcp ? AUTH : await profileHeaders(),
        ...(mcp ? { protocol: mcp[1] === '2025' ? '2025-11-25' : '2026-07-28', cpuPid: gw.pid } : {}),
        steps: [
          { name: 'warmup', connections: 16, seconds: OPTS.warmupSeconds },
          { name: 'profiled-c16', connections: 16, seconds: OPTS.profileSeconds, mark: true },
        ],
      },
      (line) => {
        const m = /^MARK (start|end) \S+ (\d+)$/.exec(line);
        if (m) window[m[1] === 'start' ? 'startUs' : 'endUs'] = Number(m[2]);
      },
    );
  } finally {
    await stopGateway(gw);
    if (traced) await stopChild(traced.child);
  }
  const file = readdirSync(profDir).find((f) => f.includes(`.${gw.pid}.`) && f.endsWith('.cpuprofile'));
  if (!file) throw new Error(`no .cpuprofile for pid ${gw.pid} in ${profDir} (exit ${JSON.stringify(gw.exit)})`);
  const summary = summarizeProfile(path.join(profDir, file), { window, top: 15 });
  summary.load = load.steps.find((s) => s.name === 'profiled-c16');
  summary.date = new Date().toISOString();
  summary.with = OPTS.profileWith + (traced ? ' --profile-tracing' : '');
  return summary;
}

/** The credential of the profiled REST load (--profile-with): the API key, an HS256 JWT or the provider's RS256 token. */
async function profileHeaders() {
  if (OPTS.profileWith === 'hs256') return { authorization: `Bearer ${await hs256Token(HS256_SECRET)}` };
  if (OPTS.profileWith === 'rs256') {
    if (!state.oidc) throw new Error('--profile-with rs256 needs the OpenID Provider (drop --no-auth-paths)');
    return { authorization: `Bearer ${await oidcAccessToken(state.oidc)}` };
  }
  return AUTH;
}
