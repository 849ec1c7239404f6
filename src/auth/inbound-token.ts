import type { Principal } from './principal';

/**
 * The bearer token a principal was verified from, kept beside the principal rather than on it: a principal is logged,
 * put in records and handed around, and the token must never go where it goes (ADR 0007). Only the upstream
 * credential stage reads it, to exchange it (RFC 8693) for a token of an upstream's audience.
 */
const tokens = new WeakMap<Principal, string>();

/** Remembers the token a principal was verified from (the credential verifier, once per verification). */
export function rememberInboundToken(principal: Principal, token: string): void {
  tokens.set(principal, token);
}

/** The bearer token the principal was verified from; undefined for an API key (or a principal built elsewhere). */
export function inboundTokenOf(principal: Principal): string | undefined {
  return tokens.get(principal);
}
