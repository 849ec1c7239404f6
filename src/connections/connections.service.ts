import { Inject, Injectable, Logger } from '@nestjs/common';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import * as oidc from 'openid-client';
import { CredentialVerifier } from 'src/auth/credential-verifier';
import { AppException } from 'src/common/errors/app.exception';
import { APP_CONFIG } from 'src/config/config.module';
import type { AppConfig, ServerEntry } from 'src/config/config.schema';
import { OAuthUserClient, type UserTokens } from 'src/mcp/credentials/oauth-user-client';
import { refreshMargin } from 'src/mcp/credentials/token-cache';
import type { CallerCredential, CredentialEvent, UpstreamCaller } from 'src/mcp/credentials/upstream-credentials';
import type { UserTokenSource } from 'src/mcp/credentials/user-token-source';
import { EngineError, EngineErrorCode, isEngineError } from 'src/mcp/engine-error';
import { McpEngine } from 'src/mcp/mcp-engine';
import { SecretsCipher } from 'src/servers/registry/secrets-cipher';
import { ServersService } from 'src/servers/servers.service';
import { ConnectionLinks, LINK_TTL_MS } from './connection-links';
import { proveLinkHolder } from './link-holder';
import { OAuthClients } from './oauth-clients';
import { SealedTokens, sha256, type StoredTokens, storedTokens } from './sealed-tokens';
import { ConnectionsRepository } from './connections.repository';
import type { ConnectionDto, ConnectionLinkDto, ConnectionListDto, RevokedConnectionDto } from './dto/connection.dto';
import type { UpstreamConnectionEntity } from './entities/upstream-connection.entity';

export { CALLBACK_PATH } from './oauth-clients';
export { tokensAad } from './sealed-tokens';
export const START_PATH = '/api/connections/start';
/** The principal id of a caller without a credential (src/calls/stages/upstream-credential.ts). */
const ANONYMOUS = 'anonymous';

const sameHash = (a: string, b: string) =>
  a.length === b.length && timingSafeEqual(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));

/**
 * Users' authorisations of `oauth-user` upstreams (ADR 0011): the links a refused call hands out, the authorization
 * code flow they start (PKCE, state single-use and bound to the browser that opened the link), the tokens kept sealed
 * per (principal, server), refreshed shortly before they expire (one replica at a time: the row is locked), listed and
 * revoked. It is the `UserTokenSource` the call pipeline asks for those servers. No token leaves it except as the
 * `Authorization` header of that principal's own upstream connection; every use, fetch, refresh and revocation is a
 * `credential` event of the engine (metric and log line, never the token).
 */
@Injectable()
export class ConnectionsService implements UserTokenSource {
  private readonly logger = new Logger('Connections');
  private readonly cipher: SecretsCipher;
  private readonly links: ConnectionLinks;
  private readonly sealed: SealedTokens;

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly repository: ConnectionsRepository,
    private readonly servers: ServersService,
    private readonly engine: McpEngine,
    private readonly clients: OAuthClients,
    private readonly oauth: OAuthUserClient,
    private readonly credentials: CredentialVerifier,
  ) {
    this.cipher = SecretsCipher.load(config.mcp.security.encryptionKey, config.mcp.dataDir).cipher;
    this.links = new ConnectionLinks(this.cipher);
    this.sealed = new SealedTokens(this.cipher);
    // The upstream answered 401 to a user's token before its expiry (revoked there, clock skew): refresh at next use.
    engine.on('credential', (event) => {
      if (event.mode === 'oauth-user' && event.action === 'rejected-by-upstream' && event.principal)
        void this.repository.expireConnection(event.principal, event.serverId).catch((error: unknown) => {
          this.logger.warn(`[${event.serverId}] could not mark a refused token for refresh: ${String(error)}`);
        });
    });
  }

  actsFor(serverId: string): boolean {
    return this.entryOrUndefined(serverId)?.auth?.mode === 'oauth-user';
  }

  async credentialFor(serverId: string, caller: UpstreamCaller): Promise<CallerCredential> {
    // Callers of an unauthenticated route share one principal: one's authorisation would serve them all.
    if (caller.id === ANONYMOUS)
      throw new EngineError(
        EngineErrorCode.UPSTREAM_AUTHORIZATION_REQUIRED,
        `Server '${serverId}' acts as each user: call it with a credential of your own (anonymous callers cannot be told apart)`,
        { serverId, mode: 'oauth-user' },
      );
    const row = await this.repository.findConnection(caller.id, serverId);
    if (!row) throw this.required(serverId, caller, 'not-connected');
    const opened = this.sealed.open(row, this.oauthUserEntry(serverId));
    if (!opened) {
      // Sealed under other settings of the server (another URL, authorization server, resource or client): never
      // sent to what the server is now; the user authorises again.
      await this.repository.deleteConnection(caller.id, serverId);
      throw this.required(serverId, caller, 'settings-changed');
    }
    let tokens = opened;
    let expiresAt = row.expiresAt.getTime();
    if (Date.now() >= expiresAt - margin(row)) ({ tokens, expiresAt } = await this.refresh(serverId, caller));
    this.audit({ serverId, action: 'used', principal: caller.id, expiresAt });
    return { partition: caller.id, headers: { authorization: `Bearer ${tokens.access_token}` } };
  }

  /** The link a principal opens to authorise the gateway at `serverId` (absolute URL). */
  linkFor(serverId: string, principal: UpstreamCaller): { url: string; nonce: string; expiresAt: number } {
    const entry = this.oauthUserEntry(serverId);
    const { token, link } = this.links.make(principal.id, serverId, principal.name);
    const url = `${new URL(this.clients.redirectUri(entry)).origin}${START_PATH}?link=${token}`;
    return { url, nonce: link.nonce, expiresAt: link.expiresAt };
  }

  /** A link for the caller to authorise the gateway at a server before calling it (400 unless it is oauth-user). */
  connect(principal: UpstreamCaller, serverId: string): ConnectionLinkDto {
    const { url, expiresAt } = this.linkFor(serverId, principal);
    return { server_id: serverId, authorization_url: url, expires_at: new Date(expiresAt).toISOString() };
  }

  /**
   * What the confirmation page names: the server and the principal the link is for (400 for a bad link), and the
   * origin of the authorization endpoint its form's answer redirects to (the page's CSP `form-action` must allow it).
   */
  async describeLink(token: string | undefined): Promise<{
    serverId: string;
    serverName: string;
    principalId: string;
    principalName?: string;
    authorizationOrigin: string;
  }> {
    const link = this.links.open(token);
    const entry = this.oauthUserEntry(link.serverId);
    const server = await this.oauth.discover(link.serverId, entry);
    return {
      serverId: link.serverId,
      serverName: entry.name ?? link.serverId,
      authorizationOrigin: new URL(String(server.metadata.authorization_endpoint)).origin,
      principalId: link.principalId,
      ...(link.principalName ? { principalName: link.principalName } : {}),
    };
  }

  /** 403 unless `credential` verifies as the principal the link was made for (ADR 0011; src/connections/link-holder.ts). */
  async proveHolder(token: string | undefined, credential: string | undefined): Promise<void> {
    await proveLinkHolder(this.credentials, this.links.open(token).principalId, credential);
  }

  /**
   * Starts the authorization a link stands for, once: discovery, the gateway's client (pre-registered or registered
   * now), a new state and PKCE verifier kept with the hash of `browserSecret` (the cookie of the browser that opened
   * the link). Answers the authorization server's URL to send the browser to.
   */
  async start(token: string | undefined, browserSecret: string): Promise<string> {
    const link = this.links.open(token);
    const entry = this.oauthUserEntry(link.serverId);
    const server = await this.oauth.discover(link.serverId, entry);
    const redirectUri = this.clients.redirectUri(entry);
    const client = await this.clients.clientFor(link.serverId, entry, server, redirectUri);
    const state = randomBytes(32).toString('base64url');
    const verifier = oidc.randomPKCECodeVerifier();
    const stateHash = sha256(state);
    const started = await this.repository.insertAuthorization({
      stateHash,
      linkNonce: link.nonce,
      principalId: link.principalId,
      serverId: link.serverId,
      browserHash: sha256(browserSecret),
      verifier: this.cipher.sealText(verifier, stateHash),
      redirectUri,
      issuer: server.issuer,
      clientId: client.clientId,
      expiresAt: new Date(Date.now() + LINK_TTL_MS),
    });
    if (!started)
      throw AppException.conflict('This connection link was already used: call the tool again for a new one', {
        reason: 'link-used',
      });
    return this.oauth.authorizationUrl(server, client, { redirectUri, state, verifier, scope: entry.auth?.scope });
  }

  /**
   * The authorization server's redirect back: the state must be one the gateway started, not used before, not
   * expired, in the browser that started it; then the code is redeemed and the tokens stored. Anything else stores
   * nothing. Answers the server the user connected.
   */
  async complete(query: Record<string, string | undefined>, browserSecret: string | undefined): Promise<string> {
    const state = query.state;
    if (!state) throw AppException.invalid('The redirect carries no state: it is not an answer to the gateway');
    const consumed = await this.repository.consumeAuthorization(sha256(state));
    if (!consumed.ok)
      throw AppException.invalid(
        consumed.why === 'used'
          ? 'This authorization was already completed (a redirect used twice): nothing was stored'
          : consumed.why === 'expired'
            ? 'This authorization expired before it was completed: call the tool again for a new link'
            : 'This redirect does not match an authorization the gateway started (wrong state): nothing was stored',
        { reason: `state-${consumed.why}` },
      );
    const row = consumed.row;
    if (!browserSecret || !sameHash(sha256(browserSecret), row.browserHash))
      throw AppException.invalid('This authorization was started in another browser: open the link again in this one', {
        reason: 'state-other-browser',
      });
    if (query.error)
      throw AppException.invalid(
        `The authorization server answered '${query.error.slice(0, 64)}'${query.error_description ? `: ${query.error_description.slice(0, 200)}` : ''}; nothing was stored`,
        { reason: 'authorization-refused', oauth_error: query.error.slice(0, 64) },
      );
    const entry = this.oauthUserEntry(row.serverId);
    const server = await this.oauth.discover(row.serverId, entry);
    if (server.issuer !== row.issuer)
      throw AppException.invalid("The server's authorization server changed during the authorization: start again");
    const client = await this.clients.clientById(row.serverId, entry, server.issuer, row.clientId);
    const callback = new URL(row.redirectUri);
    for (const [key, value] of Object.entries(query)) if (value !== undefined) callback.searchParams.set(key, value);
    let tokens: UserTokens;
    try {
      tokens = await this.oauth.redeem(row.serverId, server, client, callback, {
        state,
        verifier: this.cipher.openText(row.verifier, row.stateHash),
        redirectUri: row.redirectUri,
      });
    } catch (error) {
      this.audit({ serverId: row.serverId, action: 'failed', principal: row.principalId, reason: reasonOf(error) });
      throw error;
    }
    await this.repository.saveConnection({
      principalId: row.principalId,
      serverId: row.serverId,
      issuer: server.issuer,
      clientId: client.clientId,
      scope: tokens.scope ?? entry.auth?.scope ?? null,
      tokens: this.sealed.seal(row.serverId, row.principalId, entry, tokens),
      expiresAt: new Date(tokens.expiresAt),
      refreshedAt: null,
    });
    this.audit({ serverId: row.serverId, action: 'obtained', principal: row.principalId, expiresAt: tokens.expiresAt });
    return row.serverId;
  }

  async list(principalId: string): Promise<ConnectionListDto> {
    const rows = await this.repository.listByPrincipal(principalId);
    return { connections: rows.map((row) => toDto(row)) };
  }

  /** Forgets the caller's authorisation of a server and revokes its tokens at the authorization server (RFC 7009). */
  async revoke(principalId: string, serverId: string): Promise<RevokedConnectionDto> {
    const row = await this.repository.deleteConnection(principalId, serverId);
    if (!row) throw AppException.notFound(`Connection to server '${serverId}'`, { server_id: serverId });
    this.audit({ serverId, action: 'revoked', principal: principalId });
    let revokedUpstream = false;
    const entry = this.entryOrUndefined(serverId);
    if (entry?.auth?.mode === 'oauth-user') {
      try {
        const tokens = this.sealed.open(row, entry);
        if (!tokens) throw new Error('its tokens were sealed under other settings of the server');
        const server = await this.oauth.discover(serverId, entry);
        const client = await this.clients.clientById(serverId, entry, row.issuer, row.clientId);
        const token = tokens.refresh_token ?? tokens.access_token;
        revokedUpstream = await this.oauth.revoke(
          serverId,
          server,
          client,
          token,
          tokens.refresh_token ? 'refresh_token' : 'access_token',
        );
      } catch (error) {
        // Forgotten here either way; the authorization server's copy expires on its own.
        this.logger.warn(`[${serverId}] could not revoke at the authorization server: ${(error as Error).message}`);
      }
    }
    return { ...toDto(row), revoked_at_authorization_server: revokedUpstream };
  }

  /** Refreshes the principal's tokens under the row's lock; asks for a new authorisation when that is refused. */
  private async refresh(
    serverId: string,
    caller: UpstreamCaller,
  ): Promise<{ tokens: StoredTokens; expiresAt: number }> {
    const principalId = caller.id;
    const entry = this.oauthUserEntry(serverId);
    return this.repository.withLockedConnection<{ tokens: StoredTokens; expiresAt: number }>(
      principalId,
      serverId,
      async (row) => {
        if (!row) return { error: this.required(serverId, caller, 'not-connected') };
        const held = this.sealed.open(row, entry);
        if (!held) return { error: this.required(serverId, caller, 'settings-changed'), delete: true };
        const heldUntil = row.expiresAt.getTime();
        // Another replica may have refreshed while this one waited for the lock.
        if (Date.now() < heldUntil - margin(row)) return { result: { tokens: held, expiresAt: heldUntil } };
        if (!held.refresh_token) {
          this.audit({ serverId, action: 'failed', principal: principalId, reason: 'no-refresh-token' });
          return { error: this.required(serverId, caller, 'expired'), delete: true };
        }
        try {
          const server = await this.oauth.discover(serverId, entry);
          const client = await this.clients.clientById(serverId, entry, row.issuer, row.clientId);
          const fresh = await this.oauth.refresh(serverId, server, client, held.refresh_token);
          this.audit({ serverId, action: 'refreshed', principal: principalId, expiresAt: fresh.expiresAt });
          return {
            result: { tokens: storedTokens(fresh), expiresAt: fresh.expiresAt },
            update: {
              tokens: this.sealed.seal(serverId, principalId, entry, fresh),
              expiresAt: new Date(fresh.expiresAt),
              refreshedAt: new Date(),
              ...(fresh.scope ? { scope: fresh.scope } : {}),
            },
          };
        } catch (error) {
          const reason = reasonOf(error);
          this.audit({ serverId, action: 'failed', principal: principalId, reason });
          if (isEngineError(error) && error.details?.reason === 'authorization-server-refused')
            // The refresh token is dead (revoked, expired, rotated away): the user authorises again.
            return { error: this.required(serverId, caller, 'refresh-refused'), delete: true };
          if (Date.now() < heldUntil) {
            this.audit({
              serverId,
              action: 'stale-after-failed-refresh',
              principal: principalId,
              expiresAt: heldUntil,
            });
            return { result: { tokens: held, expiresAt: heldUntil } };
          }
          return { error };
        }
      },
    );
  }

  /** USER_AUTHORIZATION_REQUIRED with a fresh link for the principal (401 on REST, a URL elicitation on MCP). */
  private required(serverId: string, caller: UpstreamCaller, why: string): EngineError {
    const { url, nonce } = this.linkFor(serverId, caller);
    const name = this.entryOrUndefined(serverId)?.name ?? serverId;
    return new EngineError(
      EngineErrorCode.USER_AUTHORIZATION_REQUIRED,
      `Server '${serverId}' acts as each user: authorise the gateway at ${name}'s authorization server by opening ${url}, then call again`,
      { serverId, authorizationUrl: url, elicitationId: nonce, connection: why },
    );
  }

  private oauthUserEntry(serverId: string): ServerEntry {
    const entry = this.servers.find(serverId).entry;
    if (entry.auth?.mode !== 'oauth-user')
      throw AppException.invalid(
        `Server '${serverId}' does not take users' authorisations (auth.mode is not oauth-user)`,
      );
    return entry;
  }

  private entryOrUndefined(serverId: string): ServerEntry | undefined {
    try {
      return this.servers.find(serverId).entry;
    } catch {
      return undefined;
    }
  }

  private audit(event: Omit<CredentialEvent, 'mode'>): void {
    this.engine.emit('credential', { ...event, mode: 'oauth-user' });
  }
}

/** Refresh this long before the access token expires (as TokenCache does: a fifth of its life, at most a minute). */
function margin(row: UpstreamConnectionEntity): number {
  const obtainedAt = (row.refreshedAt ?? row.createdAt).getTime();
  return refreshMargin({ accessToken: '', obtainedAt, expiresAt: row.expiresAt.getTime() });
}

function reasonOf(error: unknown): string {
  if (isEngineError(error)) {
    const detail = error.details?.oauthError ?? error.details?.reason;
    return typeof detail === 'string' ? detail : error.code;
  }
  return 'error';
}

function toDto(row: UpstreamConnectionEntity): ConnectionDto {
  return {
    server_id: row.serverId,
    issuer: row.issuer,
    scopes: row.scope ? row.scope.split(' ').filter(Boolean) : [],
    expires_at: row.expiresAt.toISOString(),
    created_at: row.createdAt.toISOString(),
    refreshed_at: row.refreshedAt?.toISOString() ?? null,
  };
}
