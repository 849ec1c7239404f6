import { authenticationFailed } from './auth-errors';
import type { Principal } from './principal';
import { scopesFromClaims } from './scopes';

/** Claims of a verified token (signature, exp, nbf, iss, aud already checked by the strategy). */
export type TokenClaims = Record<string, unknown>;

/** Claim naming the servers a token may use (array of server ids); absent: every server. */
export const SERVERS_CLAIM = 'mcp_servers';

/** Claim naming the token's rate-limit tier (as an API key's `tier`); absent or unknown: the default limits. */
export const TIER_CLAIM = 'mcp_tier';

/** A token whose signature and claims were verified, with the time window in which that verdict holds. */
export interface VerifiedToken {
  principal: Principal;
  /** `exp` in ms since the epoch; null when the token has none. */
  expiresAt: number | null;
  /** `nbf` in ms since the epoch minus the clock skew (the verifier's own bound); null when the token has none. */
  notBefore: number | null;
}

/** The principal of a verified token and the window (`exp`, `nbf`) in which it may be reused without verifying again. */
export function verifiedTokenFromClaims(
  kind: 'jwt' | 'oauth2',
  claims: TokenClaims,
  clockSkewMs: number,
): VerifiedToken {
  return {
    principal: principalFromClaims(kind, claims, clockSkewMs),
    expiresAt: typeof claims.exp === 'number' ? claims.exp * 1000 : null,
    notBefore: typeof claims.nbf === 'number' ? claims.nbf * 1000 - clockSkewMs : null,
  };
}

/** The principal a verified token stands for. */
export function principalFromClaims(kind: 'jwt' | 'oauth2', claims: TokenClaims, clockSkewMs: number): Principal {
  if (typeof claims.iat === 'number' && claims.iat * 1000 > Date.now() + clockSkewMs) {
    throw authenticationFailed('Invalid bearer token', 'token issued in the future');
  }
  // Client-credentials tokens of some issuers carry the client as azp/client_id rather than sub.
  const subject = [claims.sub, claims.azp, claims.client_id].find(
    (v): v is string => typeof v === 'string' && v !== '',
  );
  if (!subject) throw authenticationFailed('Invalid bearer token', 'token has no subject');
  const issuer = typeof claims.iss === 'string' ? claims.iss : '';
  return {
    kind,
    id: `${kind}:${issuer}:${subject}`,
    subject,
    scopes: scopesFromClaims(claims),
    servers: serversFromClaim(claims[SERVERS_CLAIM]),
    tier: typeof claims[TIER_CLAIM] === 'string' && claims[TIER_CLAIM] !== '' ? claims[TIER_CLAIM] : null,
    claims: Object.freeze({ ...claims }),
  };
}

function serversFromClaim(value: unknown): ReadonlySet<string> | null {
  if (value === undefined || value === null) return null;
  if (Array.isArray(value)) return new Set(value.filter((v): v is string => typeof v === 'string'));
  if (typeof value === 'string') return new Set(value.split(/[\s,]+/).filter(Boolean));
  // Present but unreadable: the token meant to restrict something, so it gets nothing rather than everything.
  return new Set();
}
