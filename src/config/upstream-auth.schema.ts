import { z } from 'zod';
import { duration, int, meta, scalarString } from './config-types';

/**
 * How the gateway authenticates to one `http`/`sse` upstream (`mcp.servers.<id>.auth`; ADR 0007). One mode per server:
 *
 * - `static`: the server's `headers`, the same for every caller (the default, and what an entry without `auth` does);
 * - `oauth-client-credentials`: the gateway's own client at the upstream's authorization server; one token per server,
 *   cached and refreshed before it expires;
 * - `token-exchange`: RFC 8693, the caller's inbound bearer token exchanged for one with the upstream's audience;
 * - `claims-to-headers`: named claims of the caller's token sent as headers (upstreams behind a trusted mesh);
 * - `oauth-user`: each principal authorises the gateway once at the upstream's authorization server (code + PKCE,
 *   found by RFC 9728 / RFC 8414 discovery); its tokens are kept sealed per (principal, server) and refreshed
 *   (src/connections, ADR 0011).
 *
 * The last three depend on the caller: their connections are per (server, principal).
 */
export const UPSTREAM_AUTH_MODES = [
  'static',
  'oauth-client-credentials',
  'token-exchange',
  'claims-to-headers',
  'oauth-user',
] as const;
export type UpstreamAuthMode = (typeof UPSTREAM_AUTH_MODES)[number];

/** Modes whose credential depends on the caller: their upstream connections are per (server, principal). */
export const CALLER_AUTH_MODES: ReadonlySet<UpstreamAuthMode> = new Set([
  'token-exchange',
  'claims-to-headers',
  'oauth-user',
]);

/** RFC 7230 token: what a header name may be. */
export const HEADER_NAME_PATTERN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,256}$/;
/** A claim name or a dotted path into nested claims (`realm_access.roles`). */
export const CLAIM_PATH_PATTERN = /^[A-Za-z0-9_:$-]+(\.[A-Za-z0-9_:$-]+)*$/;

export const upstreamAuthSchema = z
  .object({
    mode: meta(
      z.enum(UPSTREAM_AUTH_MODES, {
        error: () => `unknown upstream credential mode; expected one of ${UPSTREAM_AUTH_MODES.join(', ')}`,
      }),
      { description: 'How the gateway authenticates upstream: ' + UPSTREAM_AUTH_MODES.join(', ') + '.' },
    ),
    tokenEndpoint: meta(z.url({ protocol: /^https?$/, error: 'expected an http:// or https:// URL' }).optional(), {
      description: 'oauth-client-credentials / token-exchange: the token endpoint of the authorization server.',
    }),
    clientId: meta(z.string().min(1).max(512).optional(), {
      description:
        "The gateway's client id at the authorization server. oauth-user: a pre-registered client (unset: a Client " +
        'ID Metadata Document where the authorization server takes one, else dynamic registration, RFC 7591).',
    }),
    clientSecret: meta(scalarString().optional(), {
      description:
        "The gateway's client secret (masked everywhere). oauth-user: unset for a public client (PKCE only).",
      sensitive: true,
    }),
    authorizationServer: meta(
      z.url({ protocol: /^https?$/, error: 'expected an http:// or https:// URL' }).optional(),
      {
        description:
          "oauth-user: the authorization server's issuer; unset: found from the upstream (RFC 9728 protected " +
          'resource metadata, from its 401 or its well-known URL).',
      },
    ),
    redirectUri: meta(z.url({ protocol: /^https?$/, error: 'expected an http:// or https:// URL' }).optional(), {
      description:
        "oauth-user: the gateway's callback as the authorization server knows it (`<public URL>/api/connections/" +
        "callback`); unset: built from the API listener's address.",
    }),
    audience: meta(z.string().min(1).max(2048).optional(), {
      description: 'token-exchange: the `audience` asked for (the upstream as its authorization server names it).',
    }),
    resource: meta(z.string().min(1).max(2048).optional(), {
      description: 'oauth-client-credentials / token-exchange: the RFC 8707 `resource` indicator of the upstream.',
    }),
    scope: meta(z.string().max(2048).optional(), { description: 'Scopes asked for (space-separated).' }),
    claims: meta(z.record(z.string(), z.string()).default({}), {
      description:
        'claims-to-headers: header name -> claim name (or dotted path). A caller without one of the claims is refused.',
    }),
    maxConnections: meta(int(1, 100_000).default(100), {
      description:
        'token-exchange / claims-to-headers / oauth-user: upstream connections (one per principal) kept at most.',
    }),
    idleTimeout: meta(duration().default(300_000), {
      description:
        "token-exchange / claims-to-headers / oauth-user: a principal's connection unused this long is closed.",
    }),
  })
  .superRefine((auth, ctx) => {
    const needsClient = auth.mode === 'oauth-client-credentials' || auth.mode === 'token-exchange';
    if (needsClient) {
      if (!auth.tokenEndpoint)
        ctx.addIssue({ code: 'custom', path: ['tokenEndpoint'], message: `${auth.mode} needs a token-endpoint` });
      if (!auth.clientId)
        ctx.addIssue({ code: 'custom', path: ['clientId'], message: `${auth.mode} needs a client-id` });
      if (!auth.clientSecret)
        ctx.addIssue({ code: 'custom', path: ['clientSecret'], message: `${auth.mode} needs a client-secret` });
    }
    if (auth.mode === 'oauth-user') {
      if (auth.clientSecret && !auth.clientId)
        ctx.addIssue({
          code: 'custom',
          path: ['clientId'],
          message: 'oauth-user with a client-secret needs the client-id it belongs to',
        });
      if (auth.redirectUri && !/\/api\/connections\/callback$/.test(new URL(auth.redirectUri).pathname))
        ctx.addIssue({
          code: 'custom',
          path: ['redirectUri'],
          message: "oauth-user: the redirect-uri must be the gateway's '/api/connections/callback'",
        });
    }
    if (auth.mode === 'token-exchange' && !auth.audience && !auth.resource)
      ctx.addIssue({
        code: 'custom',
        path: ['audience'],
        message: 'token-exchange needs an audience or a resource: the exchanged token is for the upstream only',
      });
    if (auth.mode === 'claims-to-headers') {
      const entries = Object.entries(auth.claims);
      if (entries.length === 0)
        ctx.addIssue({ code: 'custom', path: ['claims'], message: 'claims-to-headers needs at least one claim' });
      for (const [header, claim] of entries) {
        if (!HEADER_NAME_PATTERN.test(header))
          ctx.addIssue({ code: 'custom', path: ['claims', header], message: `'${header}' is not a header name` });
        if (!CLAIM_PATH_PATTERN.test(claim))
          ctx.addIssue({ code: 'custom', path: ['claims', header], message: `'${claim}' is not a claim name or path` });
        if (/^(authorization|host|content-length|mcp-session-id|mcp-protocol-version)$/i.test(header))
          ctx.addIssue({
            code: 'custom',
            path: ['claims', header],
            message: `'${header}' is managed by the gateway and the MCP transport`,
          });
      }
    }
  });

export type UpstreamAuth = z.output<typeof upstreamAuthSchema>;

/** The credential mode of a server entry (`static` when it has no `auth`). */
export function authModeOf(entry: { auth?: UpstreamAuth }): UpstreamAuthMode {
  return entry.auth?.mode ?? 'static';
}

/** Whether a server's upstream connections are per (server, principal). */
export function isCallerAuth(entry: { auth?: UpstreamAuth }): boolean {
  return CALLER_AUTH_MODES.has(authModeOf(entry));
}
