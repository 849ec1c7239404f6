// The caller phase of `npm run bench` (bench/run.mjs): the per-server tool route `POST /api/servers/everything/tools/
// echo` with each kind of credential, back to back on one gateway, next to the bare-proxy limit:
//   - an API key (X-API-Key, the gateway's bootstrap admin key),
//   - an HS256 JWT signed with `mcp.security.jwt.secret`,
//   - an RS256 access token issued by a real OpenID Provider on loopback (bench/oidc-issuer.mjs: oidc-provider,
//     client-credentials grant, resource indicators, JWT access tokens; the gateway finds its JWKS by discovery),
//   - the bare proxy (bench/bare-proxy.mjs: a bare Fastify route in front of one SDK stdio client).
// Each is 16 autocannon connections (bench/gateway-load.mjs) after a warm-up, one token for every request (a client
// reuses its access token until it expires), with the CPU time of the serving process per call from /proc; the
// gateway's callers are measured in two rounds in rotated order and the better of the two is reported.
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { SignJWT } from 'jose';
import { BENCH_DIR, ROOT } from './lib/common.mjs';

/** The audience the OpenID Provider puts in its access tokens and the gateway requires. */
export const RESOURCE = 'https://globalmcp.bench/api';
const SCOPE = 'mcp:read mcp:write';
/** Target of issue 15: a bearer token costs no more than 10% of an API key's throughput. */
export const BEARER_TARGET = 0.9;
/** Target of issue 15 for the REST route against the bare-proxy limit (16 connections, same run). */
export const REST_TARGET = 0.4;
/** Measurements of each gateway caller (the best is reported). */
const AUTH_ROUNDS = 2;

/** A fresh HS256 secret for the gateway under test (48 random bytes, as `openssl rand -base64 48`). */
export const newHs256Secret = () => randomBytes(48).toString('base64url');

/** Spawns a child that prints `READY ...` on its stdout once serving; resolves to the words after READY. */
export async function startReady(ctx, script, options) {
  const child = ctx.spawnTracked(process.execPath, [path.join(BENCH_DIR, script), JSON.stringify(options)], {
    cwd: ROOT,
    // The run's marker: the orchestrator's final sweep of /proc finds this child and its descendants by it.
    env: { ...ctx.cleanEnv(), [ctx.marker.split('=')[0]]: ctx.marker.split('=')[1] },
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const words = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${script} did not start within 30 s`)), 30_000);
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (!line.startsWith('READY ')) return;
      clearTimeout(timer);
      resolve(line.split(' ').slice(1));
    });
    child.exitPromise.then(({ code }) => reject(new Error(`${script} exited (${code}) before it was ready`)));
  });
  return { child, words };
}

export async function stopChild(child) {
  try {
    process.kill(child.pid, 'SIGTERM');
  } catch {
    return;
  }
  await Promise.race([child.exitPromise, new Promise((r) => setTimeout(r, 5000).unref())]);
}

/** Starts the OpenID Provider; `{ issuer, clientId, clientSecret, stop() }`. */
export async function startOidcIssuer(ctx) {
  const { child, words } = await startReady(ctx, 'oidc-issuer.mjs', { resource: RESOURCE, scope: SCOPE });
  const [issuer, clientId, clientSecret] = words;
  return { issuer, clientId, clientSecret, stop: () => stopChild(child) };
}

/** An access token from the provider's token endpoint (found by discovery), client-credentials grant. */
export async function oidcAccessToken(oidc) {
  const metadata = await (await fetch(`${oidc.issuer}/.well-known/openid-configuration`)).json();
  const response = await fetch(metadata.token_endpoint, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${oidc.clientId}:${oidc.clientSecret}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams({ grant_type: 'client_credentials', scope: SCOPE, resource: RESOURCE }),
  });
  const body = await response.json();
  if (response.status !== 200 || typeof body.access_token !== 'string') {
    throw new Error(`token endpoint answered ${response.status}: ${JSON.stringify(body)}`);
  }
  return body.access_token;
}

/** An HS256 JWT as a client of the gateway's shared secret would send it (one hour). */
export function hs256Token(secret) {
  return new SignJWT({ scope: SCOPE })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject('bench-client')
    .setIssuedAt()
    .setExpirationTime('1h')
    .sign(new TextEncoder().encode(secret));
}

/** The YAML lines (under the root) that make the gateway accept both kinds of token. */
export function authYaml({ hs256Secret, oidcIssuer }) {
  return {
    jwt: ['    jwt:', `      secret: ${JSON.stringify(hs256Secret)}`],
    spring: oidcIssuer
      ? [
          'spring:',
          '  security:',
          '    oauth2:',
          '      resourceserver:',
          '        jwt:',
          `          issuer-uri: ${JSON.stringify(oidcIssuer)}`,
          `          audiences: [${JSON.stringify(RESOURCE)}]`,
        ]
      : [],
  };
}

/**
 * Runs the phase against a started gateway `gw` (its pid is read for CPU). `ctx`: { opts, quick, runWorker,
 * spawnTracked, cleanEnv, log, marker, apiKeyHeaders, hs256Secret, oidc }. Returns { api_key, hs256, rs256_oidc,
 * bare_proxy }, each the measured 16-connection step (the best round for the gateway's callers, or { error }).
 */
export async function measureAuthPaths(gw, ctx) {
  const step = (url, headers, cpuPid) =>
    ctx
      .runWorker('gateway-load.mjs', {
        url,
        headers,
        cpuPid,
        paths: ['/api/servers/everything/tools/echo'],
        steps: [
          { name: 'warmup', connections: 16, seconds: ctx.opts.warmupSeconds },
          { name: 'c16', connections: 16, seconds: ctx.opts.seconds },
        ],
      })
      .then((r) => r.steps.find((s) => s.name === 'c16'))
      .catch((error) => ({ error: String(error?.message ?? error) }));
  const bearer = (token) => ({ authorization: `Bearer ${token}` });
  const callers = [
    ['api_key', 'API key', ctx.apiKeyHeaders],
    ['hs256', 'HS256 bearer token', bearer(await hs256Token(ctx.hs256Secret))],
  ];
  const results = {};
  if (ctx.oidc) {
    const token = await oidcAccessToken(ctx.oidc).catch((error) => ({ error: String(error) }));
    if (typeof token === 'string') callers.push(['rs256_oidc', 'RS256 token of the OpenID Provider', bearer(token)]);
    else results.rs256_oidc = token;
  }
  // Rounds in rotated order, the best of each kept: whoever goes first on a fresh process (JIT, pools) or meets a
  // neighbour's burst on a shared machine is not the only measurement of its kind.
  const rounds = ctx.quick ? 1 : AUTH_ROUNDS;
  for (let round = 0; round < rounds; round++) {
    for (let i = 0; i < callers.length; i++) {
      const [key, label, headers] = callers[(i + round) % callers.length];
      ctx.log(`callers, round ${round + 1}/${rounds}: ${label}, 16 connections`);
      const measured = await step(gw.api, headers, gw.pid);
      if (!results[key] || results[key].error || (measured.rps ?? 0) > results[key].rps) results[key] = measured;
    }
  }
  ctx.log('callers: bare proxy (Fastify route + one SDK stdio client), 16 connections');
  try {
    const { child, words } = await startReady(ctx, 'bare-proxy.mjs', { marker: ctx.marker });
    try {
      results.bare_proxy = await step(words[0], {}, child.pid);
    } finally {
      await stopChild(child);
    }
  } catch (error) {
    results.bare_proxy = { error: String(error?.message ?? error) };
  }
  return results;
}

/** The met/not-met rows of the phase. */
export function authVerdicts(r) {
  const ratio = (a, b) => (a?.rps && b?.rps ? Math.round((a.rps / b.rps) * 1000) / 1000 : null);
  const row = (value, target) => ({ value, target: `≥ ${target}`, met: value === null ? null : value >= target });
  return {
    hs256_vs_api_key: row(ratio(r.hs256, r.api_key), BEARER_TARGET),
    rs256_vs_api_key: row(ratio(r.rs256_oidc, r.api_key), BEARER_TARGET),
    rest_api_key_vs_bare_proxy: row(ratio(r.api_key, r.bare_proxy), REST_TARGET),
  };
}

export function renderAuthPaths(r, verdicts) {
  const ms = (x) => (x === null || x === undefined ? '–' : `${x.toFixed(3)} ms`);
  const bare = r.bare_proxy?.rps;
  const cell = (s) =>
    s?.error
      ? `failed: ${s.error.slice(0, 80)} | | | |`
      : `${s.rps} | ${bare ? (s.rps / bare).toFixed(2) : '–'} | ${ms(s.latency.p50)} / ${ms(s.latency.p99)} | ${s.cpu_us_per_call ?? '–'} |`;
  const mark = (v) => (v.met === null ? 'not measured' : v.met ? '**met**' : '**not met**');
  const lines = [
    '| caller (REST `POST /api/servers/everything/tools/echo`, 16 connections) | calls/s | vs bare proxy | p50 / p99 | CPU µs per call (serving process) |',
    '|---|---|---|---|---|',
    `| bare Fastify route → one SDK stdio client (no auth, validation, audit, metrics, logs) | ${cell(r.bare_proxy)}`,
    `| gateway, API key | ${cell(r.api_key)}`,
    `| gateway, HS256 bearer JWT | ${cell(r.hs256)}`,
  ];
  if (r.rs256_oidc)
    lines.push(`| gateway, RS256 access token (oidc-provider, JWKS by discovery) | ${cell(r.rs256_oidc)}`);
  lines.push(
    '',
    '| target (issue 15) | result | target | |',
    '|---|---|---|---|',
    `| HS256 bearer ÷ API key | ${verdicts.hs256_vs_api_key.value ?? '–'} | ${verdicts.hs256_vs_api_key.target} | ${mark(verdicts.hs256_vs_api_key)} |`,
    `| RS256 (OpenID Provider) bearer ÷ API key | ${verdicts.rs256_vs_api_key.value ?? '–'} | ${verdicts.rs256_vs_api_key.target} | ${mark(verdicts.rs256_vs_api_key)} |`,
    `| REST route (API key) ÷ bare proxy | ${verdicts.rest_api_key_vs_bare_proxy.value ?? '–'} | ${verdicts.rest_api_key_vs_bare_proxy.target} | ${mark(verdicts.rest_api_key_vs_bare_proxy)} |`,
    '',
  );
  return lines.join('\n');
}
