import type { CallerCredential, UpstreamCaller } from './upstream-credentials';

/**
 * Where the credentials of `oauth-user` servers come from (ADR 0011): each user's own authorisation of the gateway,
 * kept sealed per (principal, server) by src/connections, which provides this under `USER_TOKEN_SOURCE`. The call
 * pipeline's credential stage asks it instead of the engine for those servers; the engine's per-principal connections
 * carry the result as for the other caller modes.
 */
export interface UserTokenSource {
  /** Whether `serverId` is an `oauth-user` server (its credentials come from here). */
  actsFor(serverId: string): boolean;
  /**
   * The caller's current token for the server as headers, refreshed first when it is about to expire. Rejects with
   * USER_AUTHORIZATION_REQUIRED (and the URL where the user gives it) when the caller has no usable authorisation.
   */
  credentialFor(serverId: string, caller: UpstreamCaller): Promise<CallerCredential>;
}

/** Nest injection token of the `UserTokenSource` (a symbol: the engine folder imports nothing of Nest). */
export const USER_TOKEN_SOURCE = Symbol('USER_TOKEN_SOURCE');
