/** An access token the gateway obtained for an upstream, with when it stops being valid. */
export interface IssuedToken {
  readonly accessToken: string;
  /** Epoch ms after which the upstream refuses it. */
  readonly expiresAt: number;
  /** Epoch ms it was obtained. */
  readonly obtainedAt: number;
}

/** How a `TokenCache.get` was served: a token still fresh in the cache, or one obtained now (first or refresh). */
export type TokenSource = 'cache' | 'obtained' | 'refreshed' | 'stale-after-failed-refresh';

export interface TokenCacheOptions {
  /** Entries kept at most; the least recently used goes first. */
  maxEntries: number;
  /** Clock (epoch ms), for tests. */
  now?: () => number;
}

/** Refresh this long before expiry: a fifth of the token's lifetime, at most a minute. */
export function refreshMargin(token: IssuedToken): number {
  return Math.min(60_000, Math.max(0, token.expiresAt - token.obtainedAt) / 5);
}

/**
 * Access tokens by key (a server for client credentials; a server and a principal for exchanged tokens), each used
 * until shortly before it expires (`refreshMargin`) and then replaced. Concurrent gets of one key share one request to
 * the token endpoint. A refresh that fails while the old token is still valid serves the old token (the upstream
 * still takes it); a first fetch that fails is not remembered. Bounded: the least recently used key goes first.
 *
 * Keys name who a token is for; a token is only ever handed to a get of its own key, which is what keeps one
 * principal's token from being sent for another (ADR 0007).
 */
export class TokenCache {
  private readonly entries = new Map<string, IssuedToken>();
  private readonly inFlight = new Map<string, Promise<IssuedToken>>();
  private readonly now: () => number;

  constructor(private readonly options: TokenCacheOptions) {
    this.now = options.now ?? Date.now;
  }

  get size(): number {
    return this.entries.size;
  }

  /** The token of `key`, obtained by `obtain` when there is none fresh. */
  async get(key: string, obtain: () => Promise<IssuedToken>): Promise<{ token: IssuedToken; source: TokenSource }> {
    const cached = this.entries.get(key);
    const now = this.now();
    if (cached && now < cached.expiresAt - refreshMargin(cached)) {
      this.touch(key, cached);
      return { token: cached, source: 'cache' };
    }
    let pending = this.inFlight.get(key);
    if (!pending) {
      pending = obtain();
      this.inFlight.set(key, pending);
      const clear = () => {
        if (this.inFlight.get(key) === pending) this.inFlight.delete(key);
      };
      pending.then(clear, clear);
    }
    try {
      const token = await pending;
      if (this.entries.get(key) !== token) this.store(key, token);
      return { token, source: cached ? 'refreshed' : 'obtained' };
    } catch (error) {
      if (cached && this.now() < cached.expiresAt) return { token: cached, source: 'stale-after-failed-refresh' };
      if (cached) this.entries.delete(key);
      throw error;
    }
  }

  /** Forgets a key (the upstream refused its token, or its server changed). */
  delete(key: string): void {
    this.entries.delete(key);
  }

  /** Forgets every key that starts with `prefix` (all tokens of a server). */
  deletePrefix(prefix: string): void {
    for (const key of this.entries.keys()) if (key.startsWith(prefix)) this.entries.delete(key);
  }

  private store(key: string, token: IssuedToken): void {
    this.entries.delete(key);
    this.entries.set(key, token);
    if (this.entries.size <= this.options.maxEntries) return;
    // Expired ones first, then the least recently used.
    const now = this.now();
    for (const [k, t] of this.entries) if (t.expiresAt <= now) this.entries.delete(k);
    while (this.entries.size > this.options.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest === undefined) break;
      this.entries.delete(oldest);
    }
  }

  private touch(key: string, token: IssuedToken): void {
    this.entries.delete(key);
    this.entries.set(key, token);
  }
}
