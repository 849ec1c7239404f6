import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { VerifiedToken } from './jwt-claims';
import type { Principal } from './principal';

export interface VerifiedTokenCacheOptions {
  /** Entries kept at most; the least recently used goes first. */
  maxEntries: number;
  /** Longest a verdict is reused, whatever the token's `exp` (bounds how long a withdrawn signing key still works). */
  maxAgeMs: number;
  /** Wall clock in ms (tests pass their own). */
  now?: () => number;
}

interface Entry {
  principal: Principal;
  validFrom: number;
  validUntil: number;
}

/**
 * Principals of bearer tokens already verified, so a token's signature and claims are checked once and not on every
 * request. Keyed by the SHA-256 of the token: the token itself is never kept (nothing to find in a heap dump), and a
 * collision-resistant hash is what stops a different token from being taken for a cached one. An entry is served
 * only inside the window the verifier accepted (from `nbf` less the clock skew, before `exp`) and for at most
 * `maxAgeMs`; after that the token goes through full verification again. Refused tokens are never stored.
 * Every request with the token gets the same Principal object: nothing may write to a principal.
 */
export class VerifiedTokenCache {
  private readonly entries: LRUCache<string, Entry>;
  private readonly maxAgeMs: number;
  private readonly now: () => number;

  constructor(options: VerifiedTokenCacheOptions) {
    this.entries = new LRUCache<string, Entry>({ max: options.maxEntries });
    this.maxAgeMs = options.maxAgeMs;
    this.now = options.now ?? (() => Date.now());
  }

  /** The cache key of a token: its SHA-256, base64url. */
  static keyOf(token: string): string {
    return createHash('sha256').update(token).digest('base64url');
  }

  get size(): number {
    return this.entries.size;
  }

  /** The principal of a token verified earlier and still inside its window; undefined: verify it. */
  get(token: string): Principal | undefined {
    const key = VerifiedTokenCache.keyOf(token);
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    const now = this.now();
    if (now >= entry.validUntil) {
      this.entries.delete(key);
      return undefined;
    }
    return now >= entry.validFrom ? entry.principal : undefined;
  }

  /** Remembers the verdict on a token that has just passed verification. */
  remember(token: string, verified: VerifiedToken): void {
    const now = this.now();
    const validUntil = Math.min(verified.expiresAt ?? Number.POSITIVE_INFINITY, now + this.maxAgeMs);
    if (validUntil <= now) return;
    this.entries.set(VerifiedTokenCache.keyOf(token), {
      principal: verified.principal,
      validFrom: verified.notBefore ?? Number.NEGATIVE_INFINITY,
      validUntil,
    });
  }
}
