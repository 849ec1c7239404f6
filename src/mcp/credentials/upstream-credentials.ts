import { createHash } from 'node:crypto';
import type { ServerEntry } from 'src/config/config.schema';
import { authModeOf, type UpstreamAuth, type UpstreamAuthMode } from 'src/config/upstream-auth.schema';
import { EngineError, EngineErrorCode } from '../engine-error';
import { TokenCache, type TokenSource } from './token-cache';
import { TokenClient } from './token-client';
import type { RequestHeaders } from '../transports/http.transport';

/** Who calls, as far as an upstream credential needs to know (built from the gateway's principal by the caller). */
export interface UpstreamCaller {
  /** The principal's stable id: connections and exchanged tokens are keyed by it. */
  readonly id: string;
  /** Its human-readable name (an API key's name, a token's subject), for pages that show whom a link is for. */
  readonly name?: string;
  /** The caller's inbound bearer token (none for an API key): what token exchange exchanges. */
  readonly bearerToken?: string;
  /** Epoch ms at which the inbound token expires: an exchanged token never outlives it. */
  readonly tokenExpiresAt?: number;
  /** The verified claims of the inbound token (claims-to-headers). */
  readonly claims?: Readonly<Record<string, unknown>>;
}

/** The credential of one caller for one upstream: the headers, and the connection partition they may be sent on. */
export interface CallerCredential {
  /** The connection partition: the principal's id. Headers of one partition are never sent on another's connection. */
  readonly partition: string;
  readonly headers: Readonly<Record<string, string>>;
}

/** One token use or token request, for the audit log and metrics; never the token itself. */
export interface CredentialEvent {
  serverId: string;
  mode: UpstreamAuthMode;
  /**
   * `used`: a credential went on a request (or a call); the others say how a token was come by, or (`oauth-user`)
   * that the user's authorisation was `revoked`.
   */
  action: 'used' | TokenSource | 'failed' | 'rejected-by-upstream' | 'revoked';
  /** The principal the token is for (caller modes). */
  principal?: string;
  /** Epoch ms the token in use expires. */
  expiresAt?: number;
  /** Why it failed (an OAuth error code or `token-endpoint-unreachable`). */
  reason?: string;
}

export interface UpstreamCredentialsOptions {
  /** Tokens kept at most (client-credential and exchanged together). */
  maxTokens?: number;
  now?: () => number;
  client?: TokenClient;
}

/**
 * The credentials the gateway sends upstream, by the server's `auth` mode (ADR 0007). Server-wide ones (`static`,
 * `oauth-client-credentials`) go on every request of the server's pooled connections (`serverHeaders`, asked by the
 * transport per HTTP request, so a refreshed token is used at once); caller ones (`token-exchange`,
 * `claims-to-headers`) are resolved per call (`forCaller`) and travel only on that principal's own connection.
 */
export class UpstreamCredentials {
  private readonly tokens: TokenCache;
  private readonly client: TokenClient;

  constructor(
    private readonly audit: (event: CredentialEvent) => void,
    options: UpstreamCredentialsOptions = {},
  ) {
    const now = options.now ?? Date.now;
    this.tokens = new TokenCache({ maxEntries: options.maxTokens ?? 10_000, now });
    this.client = options.client ?? new TokenClient(now);
  }

  /** Headers of a server-wide credential for one HTTP request (none for `static`: its headers are the entry's). */
  async serverHeaders(serverId: string, entry: ServerEntry): Promise<Record<string, string>> {
    const auth = entry.auth;
    if (!auth || auth.mode !== 'oauth-client-credentials') return {};
    const token = await this.token(serverId, auth, `${serverId}\0${fingerprint(auth)}`, undefined, () =>
      this.client.clientCredentials(serverId, auth),
    );
    return { authorization: `Bearer ${token}` };
  }

  /**
   * For a server that acts on behalf of each caller: an exchanged token, or the caller's claims as headers. Refuses
   * with UPSTREAM_AUTHORIZATION_REQUIRED when the caller has no token to exchange or lacks a claim.
   */
  async forCaller(serverId: string, entry: ServerEntry, caller: UpstreamCaller): Promise<CallerCredential> {
    const auth = entry.auth;
    const mode = authModeOf(entry);
    if (!auth || mode === 'static' || mode === 'oauth-client-credentials')
      throw new Error(`server '${serverId}' does not act on behalf of its callers (${mode})`);
    // Users' own authorisations are kept by src/connections (UserTokenSource), not here.
    if (auth.mode === 'oauth-user') throw new Error(`server '${serverId}' is oauth-user: ask the UserTokenSource`);
    if (auth.mode === 'claims-to-headers') {
      const headers = claimHeaders(serverId, auth, caller);
      this.audit({ serverId, mode, action: 'used', principal: caller.id });
      return { partition: caller.id, headers };
    }
    const subject = caller.bearerToken;
    if (!subject)
      throw new EngineError(
        EngineErrorCode.UPSTREAM_AUTHORIZATION_REQUIRED,
        `Server '${serverId}' acts on behalf of the caller by token exchange: call it with a bearer token (an API key has no token to exchange)`,
        { serverId, mode },
      );
    const key = `${serverId}\0${fingerprint(auth)}\0${caller.id}`;
    const token = await this.token(serverId, auth, key, caller.id, () =>
      this.client.exchange(serverId, auth, subject, caller.tokenExpiresAt),
    );
    return { partition: caller.id, headers: { authorization: `Bearer ${token}` } };
  }

  /**
   * The server-wide credential of a pooled connection, asked per HTTP request so a refreshed token is used at once: a
   * client-credentials token (also a token-exchange server's: its pooled members only list the catalog), dropped when
   * the upstream answers 401. Nothing for the other modes (their `headers` are the entry's).
   */
  pooled(serverId: string, entry: ServerEntry): { requestHeaders?: RequestHeaders; onUnauthorized?: () => void } {
    const mode = entry.auth?.mode;
    if (entry.type === 'stdio' || (mode !== 'oauth-client-credentials' && mode !== 'token-exchange')) return {};
    const discovery: ServerEntry =
      mode === 'token-exchange' ? { ...entry, auth: { ...entry.auth!, mode: 'oauth-client-credentials' } } : entry;
    return {
      requestHeaders: () => this.serverHeaders(serverId, discovery),
      onUnauthorized: () => this.rejected(serverId, discovery),
    };
  }

  /**
   * The upstream answered 401 to a token of this server (the server's own, or `callerId`'s): it is dropped, so the
   * next request or call obtains a new one rather than sending a refused token until it expires.
   */
  rejected(serverId: string, entry: ServerEntry, callerId?: string): void {
    const auth = entry.auth;
    // oauth-user: the user's tokens are kept by src/connections, which takes this event as "refresh before next use".
    if (auth?.mode === 'oauth-user' && callerId !== undefined)
      return this.audit({ serverId, mode: auth.mode, action: 'rejected-by-upstream', principal: callerId });
    if (!auth || (auth.mode !== 'oauth-client-credentials' && auth.mode !== 'token-exchange')) return;
    const key = `${serverId}\0${fingerprint(auth)}${callerId !== undefined ? `\0${callerId}` : ''}`;
    this.tokens.delete(key);
    this.audit({ serverId, mode: auth.mode, action: 'rejected-by-upstream', principal: callerId });
  }

  /** Forgets the tokens of a server (removed, or its settings changed). */
  forget(serverId: string): void {
    this.tokens.deletePrefix(`${serverId}\0`);
  }

  private async token(
    serverId: string,
    auth: UpstreamAuth,
    key: string,
    principal: string | undefined,
    obtain: () => Promise<import('./token-cache').IssuedToken>,
  ): Promise<string> {
    try {
      const { token, source } = await this.tokens.get(key, obtain);
      if (source !== 'cache')
        this.audit({ serverId, mode: auth.mode, action: source, principal, expiresAt: token.expiresAt });
      this.audit({ serverId, mode: auth.mode, action: 'used', principal, expiresAt: token.expiresAt });
      return token.accessToken;
    } catch (error) {
      const detail = error instanceof EngineError ? (error.details?.oauthError ?? error.details?.reason) : undefined;
      const reason = typeof detail === 'string' ? detail : error instanceof EngineError ? error.code : 'error';
      this.audit({ serverId, mode: auth.mode, action: 'failed', principal, reason });
      throw error;
    }
  }
}

/** The `auth` settings a token was obtained under: a changed client, audience or scope never reuses an old token. */
function fingerprint(auth: UpstreamAuth): string {
  const { tokenEndpoint, clientId, clientSecret, audience, resource, scope } = auth;
  return createHash('sha256')
    .update(JSON.stringify([tokenEndpoint, clientId, clientSecret, audience, resource, scope]))
    .digest('base64url')
    .slice(0, 16);
}

/** `claims` of the server's `auth` resolved against the caller's claims; a missing or unusable claim refuses. */
function claimHeaders(serverId: string, auth: UpstreamAuth, caller: UpstreamCaller): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [header, path] of Object.entries(auth.claims)) {
    const value = claimAt(caller.claims, path);
    const text = headerValue(value);
    if (text === undefined)
      throw new EngineError(
        EngineErrorCode.UPSTREAM_AUTHORIZATION_REQUIRED,
        `Server '${serverId}' needs the caller's claim '${path}' (sent as ${header}); the caller's credential ${caller.claims ? 'has no usable value for it' : 'carries no claims (an API key)'}`,
        { serverId, mode: auth.mode, claim: path },
      );
    headers[header] = text;
  }
  return headers;
}

function claimAt(claims: Readonly<Record<string, unknown>> | undefined, path: string): unknown {
  let node: unknown = claims;
  for (const part of path.split('.')) {
    if (typeof node !== 'object' || node === null || Array.isArray(node)) return undefined;
    node = (node as Record<string, unknown>)[part];
  }
  return node;
}

/** Strings, numbers and booleans as they are; a list of them comma-separated; anything else (objects) refused. */
function headerValue(value: unknown): string | undefined {
  const scalar = (v: unknown) =>
    typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? String(v) : undefined;
  let text: string | undefined;
  if (Array.isArray(value)) {
    const parts = value.map(scalar);
    text = parts.every((p) => p !== undefined) && parts.length > 0 ? parts.join(',') : undefined;
  } else text = scalar(value);
  // A header value cannot carry line breaks or NUL (request smuggling); refuse rather than strip.
  if (text === undefined || text === '' || /[\r\n\0]/.test(text) || text.length > 8192) return undefined;
  return text;
}
