import * as oidc from 'openid-client';
import type { UpstreamAuth } from 'src/config/upstream-auth.schema';
import { EngineError, EngineErrorCode } from '../engine-error';
import type { IssuedToken } from './token-cache';

/** RFC 8693 grant type and token types. */
export const TOKEN_EXCHANGE_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';

/** Lifetime assumed when the authorization server does not say (`expires_in` is only RECOMMENDED). */
const DEFAULT_LIFETIME_S = 300;
/** Seconds a token request may take. */
const TOKEN_REQUEST_TIMEOUT_S = 10;

/**
 * Exchange refusals that are about the caller's token (not the gateway's client or the server being down): the caller
 * gets a 403 naming the refusal, not a 503.
 */
const CALLER_REFUSALS = new Set([
  'invalid_grant',
  'invalid_target',
  'invalid_scope',
  'access_denied',
  'invalid_request',
]);

/**
 * The gateway's OAuth client at an upstream's authorization server (openid-client): client credentials and RFC 8693
 * token exchange at the configured token endpoint, client authentication by HTTP Basic. No token ever goes into an
 * error message: errors name the server, the endpoint's host and the OAuth error code only.
 */
export class TokenClient {
  private readonly configurations = new Map<string, oidc.Configuration>();

  constructor(private readonly now: () => number = Date.now) {}

  /** A token of the gateway's own client for the upstream (`resource`/`scope` of the server's `auth`). */
  clientCredentials(serverId: string, auth: UpstreamAuth): Promise<IssuedToken> {
    const parameters: Record<string, string> = {};
    if (auth.resource) parameters.resource = auth.resource;
    if (auth.audience) parameters.audience = auth.audience;
    if (auth.scope) parameters.scope = auth.scope;
    return this.request(serverId, auth, 'client_credentials', () =>
      oidc.clientCredentialsGrant(this.configuration(auth), parameters),
    );
  }

  /**
   * RFC 8693: the caller's access token (`subjectToken`) exchanged for one with the upstream's audience. The result
   * never outlives `notAfter` (the subject token's own expiry), so an exchanged token dies with the caller's.
   */
  async exchange(serverId: string, auth: UpstreamAuth, subjectToken: string, notAfter?: number): Promise<IssuedToken> {
    const parameters: Record<string, string> = {
      subject_token: subjectToken,
      subject_token_type: ACCESS_TOKEN_TYPE,
      requested_token_type: ACCESS_TOKEN_TYPE,
    };
    if (auth.audience) parameters.audience = auth.audience;
    if (auth.resource) parameters.resource = auth.resource;
    if (auth.scope) parameters.scope = auth.scope;
    const token = await this.request(serverId, auth, 'token-exchange', () =>
      oidc.genericGrantRequest(this.configuration(auth), TOKEN_EXCHANGE_GRANT, parameters),
    );
    if (notAfter !== undefined && notAfter < token.expiresAt) return { ...token, expiresAt: notAfter };
    return token;
  }

  private async request(
    serverId: string,
    auth: UpstreamAuth,
    grant: 'client_credentials' | 'token-exchange',
    send: () => Promise<oidc.TokenEndpointResponse>,
  ): Promise<IssuedToken> {
    const obtainedAt = this.now();
    let response: oidc.TokenEndpointResponse;
    try {
      response = await send();
    } catch (error) {
      throw this.toEngineError(serverId, auth, grant, error);
    }
    if (!response.access_token || response.token_type.toLowerCase() !== 'bearer')
      throw EngineError.unavailable(serverId, `the token endpoint at ${hostOf(auth)} sent no bearer access token`, {
        reason: 'token-endpoint-response',
      });
    const lifetime = typeof response.expires_in === 'number' ? response.expires_in : DEFAULT_LIFETIME_S;
    return { accessToken: response.access_token, obtainedAt, expiresAt: obtainedAt + lifetime * 1000 };
  }

  private configuration(auth: UpstreamAuth): oidc.Configuration {
    const key = `${auth.tokenEndpoint}\n${auth.clientId}\n${auth.clientSecret}`;
    let configuration = this.configurations.get(key);
    if (!configuration) {
      const endpoint = new URL(auth.tokenEndpoint!);
      configuration = new oidc.Configuration(
        { issuer: endpoint.origin, token_endpoint: endpoint.href },
        auth.clientId!,
        undefined,
        oidc.ClientSecretBasic(auth.clientSecret),
      );
      configuration.timeout = TOKEN_REQUEST_TIMEOUT_S;
      // Plain http only where the configuration says so (a loopback authorization server, a test).
      if (endpoint.protocol === 'http:') oidc.allowInsecureRequests(configuration);
      this.configurations.set(key, configuration);
    }
    return configuration;
  }

  private toEngineError(serverId: string, auth: UpstreamAuth, grant: string, error: unknown): EngineError {
    const host = hostOf(auth);
    if (error instanceof oidc.ResponseBodyError) {
      const description = error.error_description ? `: ${error.error_description.slice(0, 200)}` : '';
      const details = { reason: 'token-endpoint-refused', oauthError: error.error, grant };
      if (grant === 'token-exchange' && CALLER_REFUSALS.has(error.error))
        return new EngineError(
          EngineErrorCode.UPSTREAM_AUTHORIZATION_REQUIRED,
          `The authorization server of '${serverId}' refused to exchange the caller's token (${error.error}${description})`,
          { serverId, ...details },
        );
      return EngineError.unavailable(
        serverId,
        `the token endpoint at ${host} refused the gateway's ${grant} request (${error.error}${description})`,
        details,
      );
    }
    const cause = error instanceof Error ? (error.cause instanceof Error ? error.cause.message : error.message) : '';
    return EngineError.unavailable(serverId, `its token endpoint at ${host} could not be reached (${cause})`, {
      reason: 'token-endpoint-unreachable',
      grant,
    });
  }
}

function hostOf(auth: UpstreamAuth): string {
  try {
    return new URL(auth.tokenEndpoint ?? '').host;
  } catch {
    return 'an invalid URL';
  }
}
