import * as oauth from 'oauth4webapi';
import * as oidc from 'openid-client';
import type { ServerEntry } from 'src/config/config.schema';
import { EngineError } from '../engine-error';

/** Seconds an HTTP request to the authorization server or the upstream's metadata may take. */
const REQUEST_TIMEOUT_S = 10;
/** Lifetime assumed when the authorization server does not say (`expires_in` is only RECOMMENDED). */
const DEFAULT_LIFETIME_S = 300;

/** Where an upstream's users authorise the gateway: its authorization server, and the resource they authorise. */
export interface AuthorizationServerInfo {
  readonly issuer: string;
  /** The RFC 8707 resource indicator sent in authorization and token requests (the upstream, as RFC 9728 names it). */
  readonly resource: string;
  readonly metadata: oidc.ServerMetadata;
  /** How its metadata was found: `oauth2` (RFC 8414) or `oidc` (OpenID Connect discovery). */
  readonly algorithm: 'oauth2' | 'oidc';
}

/** The gateway's client at an authorization server (pre-registered, or registered dynamically). */
export interface OAuthClientRegistration {
  readonly clientId: string;
  /** Absent for a public client (PKCE only). */
  readonly clientSecret?: string;
}

/** Tokens of one user for one upstream. */
export interface UserTokens {
  readonly accessToken: string;
  readonly refreshToken?: string;
  /** Epoch ms. */
  readonly expiresAt: number;
  readonly scope?: string;
}

/**
 * The gateway's OAuth client for `oauth-user` servers (ADR 0011): discovery of the upstream's authorization server
 * (RFC 9728 protected resource metadata from the upstream's 401 or its well-known URL, then RFC 8414 or OpenID
 * Connect discovery), dynamic client registration (RFC 7591), the authorization code grant with PKCE, refresh and
 * revocation (RFC 7009), all through openid-client / oauth4webapi (panva). Holds no user state: tokens are kept by
 * the caller (src/connections), sealed. Errors name the server and the authorization server's host, never a token.
 */
export class OAuthUserClient {
  private readonly servers = new Map<string, Promise<AuthorizationServerInfo>>();

  constructor(private readonly now: () => number = Date.now) {}

  /** The authorization server of `serverId` (cached per server URL and settings; a failure is not cached). */
  discover(serverId: string, entry: ServerEntry): Promise<AuthorizationServerInfo> {
    const key = JSON.stringify([serverId, entry.url, entry.auth?.authorizationServer, entry.auth?.resource]);
    let pending = this.servers.get(key);
    if (!pending) {
      pending = this.discoverNow(serverId, entry);
      this.servers.set(key, pending);
      pending.catch(() => this.servers.delete(key));
    }
    return pending;
  }

  /** Forgets what was discovered for a server (removed or changed). */
  forget(serverId: string): void {
    for (const key of this.servers.keys()) if ((JSON.parse(key) as string[])[0] === serverId) this.servers.delete(key);
  }

  /** Whether the authorization server offers dynamic client registration (RFC 7591). */
  canRegister(server: AuthorizationServerInfo): boolean {
    return typeof server.metadata.registration_endpoint === 'string';
  }

  /** Registers the gateway as a client (public when the server takes public clients), for `redirectUri`. */
  async register(
    serverId: string,
    server: AuthorizationServerInfo,
    redirectUri: string,
    scope: string | undefined,
  ): Promise<OAuthClientRegistration> {
    const methods = server.metadata.token_endpoint_auth_methods_supported;
    const publicClient = !methods || methods.includes('none');
    try {
      const configuration = await oidc.dynamicClientRegistration(
        new URL(server.issuer),
        {
          client_name: 'globalmcp',
          redirect_uris: [redirectUri],
          grant_types: ['authorization_code', 'refresh_token'],
          response_types: ['code'],
          token_endpoint_auth_method: publicClient ? 'none' : 'client_secret_basic',
          ...(scope ? { scope } : {}),
        },
        undefined,
        { algorithm: server.algorithm, execute: insecureWhereHttp(server.issuer), timeout: REQUEST_TIMEOUT_S },
      );
      const registered = configuration.clientMetadata();
      return {
        clientId: registered.client_id,
        ...(typeof registered.client_secret === 'string' ? { clientSecret: registered.client_secret } : {}),
      };
    } catch (error) {
      throw this.failure(serverId, server.issuer, 'client registration', error);
    }
  }

  /** The URL the user's browser is sent to (authorization code, PKCE S256, the resource indicator). */
  async authorizationUrl(
    server: AuthorizationServerInfo,
    client: OAuthClientRegistration,
    request: { redirectUri: string; state: string; verifier: string; scope?: string },
  ): Promise<string> {
    const parameters: Record<string, string> = {
      redirect_uri: request.redirectUri,
      response_type: 'code',
      state: request.state,
      code_challenge: await oidc.calculatePKCECodeChallenge(request.verifier),
      code_challenge_method: 'S256',
      resource: server.resource,
    };
    if (request.scope) parameters.scope = request.scope;
    return oidc.buildAuthorizationUrl(this.configuration(server, client), parameters).href;
  }

  /** Redeems the code of the user's redirect back (`callbackUrl`, with its query) for tokens. */
  async redeem(
    serverId: string,
    server: AuthorizationServerInfo,
    client: OAuthClientRegistration,
    callbackUrl: URL,
    checks: { state: string; verifier: string; redirectUri: string },
  ): Promise<UserTokens> {
    const obtainedAt = this.now();
    try {
      const response = await oidc.authorizationCodeGrant(
        this.configuration(server, client),
        callbackUrl,
        { pkceCodeVerifier: checks.verifier, expectedState: checks.state },
        { redirect_uri: checks.redirectUri, resource: server.resource },
      );
      return tokensOf(response, obtainedAt);
    } catch (error) {
      throw this.failure(serverId, server.issuer, 'authorization code', error);
    }
  }

  /** New tokens for a refresh token (the authorization server may rotate it: use the one returned, if any). */
  async refresh(
    serverId: string,
    server: AuthorizationServerInfo,
    client: OAuthClientRegistration,
    refreshToken: string,
  ): Promise<UserTokens> {
    const obtainedAt = this.now();
    try {
      const response = await oidc.refreshTokenGrant(this.configuration(server, client), refreshToken, {
        resource: server.resource,
      });
      const tokens = tokensOf(response, obtainedAt);
      return tokens.refreshToken ? tokens : { ...tokens, refreshToken };
    } catch (error) {
      throw this.failure(serverId, server.issuer, 'refresh', error);
    }
  }

  /** RFC 7009 revocation of a token; false when the authorization server offers no revocation endpoint. */
  async revoke(
    serverId: string,
    server: AuthorizationServerInfo,
    client: OAuthClientRegistration,
    token: string,
    hint: 'refresh_token' | 'access_token',
  ): Promise<boolean> {
    if (!server.metadata.revocation_endpoint) return false;
    try {
      await oidc.tokenRevocation(this.configuration(server, client), token, { token_type_hint: hint });
      return true;
    } catch (error) {
      throw this.failure(serverId, server.issuer, 'revocation', error);
    }
  }

  private configuration(server: AuthorizationServerInfo, client: OAuthClientRegistration): oidc.Configuration {
    const configuration = new oidc.Configuration(
      server.metadata,
      client.clientId,
      undefined,
      client.clientSecret ? oidc.ClientSecretBasic(client.clientSecret) : oidc.None(),
    );
    configuration.timeout = REQUEST_TIMEOUT_S;
    // Plain http only where the configuration says so (a loopback authorization server, a test).
    if (server.issuer.startsWith('http:')) oidc.allowInsecureRequests(configuration);
    return configuration;
  }

  private async discoverNow(serverId: string, entry: ServerEntry): Promise<AuthorizationServerInfo> {
    const auth = entry.auth;
    if (!entry.url) throw new Error(`server '${serverId}' has no URL`);
    let issuer = auth?.authorizationServer;
    let resource = auth?.resource ?? entry.url;
    if (!issuer) {
      const metadata = await this.protectedResource(serverId, entry.url);
      const first = metadata.authorization_servers?.[0];
      if (!first)
        throw EngineError.unavailable(serverId, 'its protected resource metadata names no authorization server', {
          reason: 'authorization-server-discovery',
        });
      issuer = first;
      resource = auth?.resource ?? metadata.resource;
    }
    const issuerUrl = new URL(issuer);
    const errors: string[] = [];
    // RFC 8414 first (what the MCP authorization specification asks), then OpenID Connect discovery.
    for (const algorithm of ['oauth2', 'oidc'] as const) {
      try {
        const response = await oauth.discoveryRequest(issuerUrl, {
          algorithm,
          signal: AbortSignal.timeout(REQUEST_TIMEOUT_S * 1000),
          [oauth.allowInsecureRequests]: issuerUrl.protocol === 'http:',
        });
        const metadata = await oauth.processDiscoveryResponse(issuerUrl, response);
        if (!metadata.authorization_endpoint || !metadata.token_endpoint)
          throw new Error('no authorization or token endpoint');
        return { issuer: metadata.issuer, resource, metadata, algorithm };
      } catch (error) {
        errors.push(`${algorithm}: ${messageOf(error)}`);
      }
    }
    throw EngineError.unavailable(
      serverId,
      `the metadata of its authorization server at ${issuerUrl.host} could not be read (${errors.join('; ')})`,
      { reason: 'authorization-server-discovery' },
    );
  }

  /**
   * RFC 9728: the upstream's protected resource metadata, from the `resource_metadata` of the 401 it answers a request
   * without a token with, else from its well-known URL (path-inserted, as oauth4webapi builds it). Its `resource` must
   * be the upstream's URL (checked by oauth4webapi), so a metadata document cannot claim another resource.
   */
  private async protectedResource(serverId: string, url: string): Promise<oauth.ResourceServer> {
    const resource = new URL(url);
    const insecure = resource.protocol === 'http:';
    try {
      const probe = await fetch(resource, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 0, method: 'ping' }),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_S * 1000),
        redirect: 'manual',
      });
      await probe.body?.cancel();
      const pointer = resourceMetadataOf(probe.headers.get('www-authenticate'));
      const response = pointer
        ? await fetch(pointer, { headers: { accept: 'application/json' }, signal: AbortSignal.timeout(10_000) })
        : await oauth.resourceDiscoveryRequest(resource, {
            signal: AbortSignal.timeout(REQUEST_TIMEOUT_S * 1000),
            [oauth.allowInsecureRequests]: insecure,
          });
      return await oauth.processResourceDiscoveryResponse(resource, response);
    } catch (error) {
      throw EngineError.unavailable(
        serverId,
        `its protected resource metadata (RFC 9728) could not be read (${messageOf(error)})`,
        { reason: 'protected-resource-discovery' },
      );
    }
  }

  private failure(serverId: string, issuer: string, step: string, error: unknown): EngineError {
    const host = hostOf(issuer);
    if (error instanceof oidc.ResponseBodyError) {
      const description = error.error_description ? `: ${error.error_description.slice(0, 200)}` : '';
      return EngineError.unavailable(
        serverId,
        `the authorization server at ${host} refused the ${step} (${error.error}${description})`,
        { reason: 'authorization-server-refused', oauthError: error.error, step },
      );
    }
    return EngineError.unavailable(
      serverId,
      `the authorization server at ${host} could not complete the ${step} (${messageOf(error)})`,
      { reason: 'authorization-server-unreachable', step },
    );
  }
}

/** The `resource_metadata` URL of a `Bearer` challenge (RFC 9728 §5.1), if the header has one. */
export function resourceMetadataOf(header: string | null): string | undefined {
  const match = header ? /resource_metadata\s*=\s*"([^"]+)"/i.exec(header) : null;
  if (!match?.[1]) return undefined;
  try {
    const url = new URL(match[1]);
    return url.protocol === 'https:' || url.protocol === 'http:' ? url.href : undefined;
  } catch {
    return undefined;
  }
}

function tokensOf(response: oidc.TokenEndpointResponse, obtainedAt: number): UserTokens {
  if (!response.access_token || response.token_type.toLowerCase() !== 'bearer')
    throw new Error('the token endpoint sent no bearer access token');
  const lifetime = typeof response.expires_in === 'number' ? response.expires_in : DEFAULT_LIFETIME_S;
  return {
    accessToken: response.access_token,
    ...(response.refresh_token ? { refreshToken: response.refresh_token } : {}),
    // `expires_in` counts whole seconds from an `iat` the server rounded down: up to a second less than it says.
    expiresAt: obtainedAt + Math.max(lifetime - 1, lifetime / 2) * 1000,
    ...(response.scope ? { scope: response.scope } : {}),
  };
}

function insecureWhereHttp(issuer: string): ((configuration: oidc.Configuration) => void)[] {
  return issuer.startsWith('http:') ? [oidc.allowInsecureRequests] : [];
}

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return 'an invalid URL';
  }
}

function messageOf(error: unknown): string {
  if (!(error instanceof Error)) return 'error';
  const cause = error.cause instanceof Error ? `: ${error.cause.message}` : '';
  return `${error.message}${cause}`.slice(0, 300);
}
