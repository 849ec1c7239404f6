import { createHash } from 'node:crypto';
import type { LRUCache } from 'lru-cache';
import type { VerifiedToken } from './jwt-claims';
import type { Principal } from './principal';
import { VerifiedTokenCache } from './verified-token-cache';

const T0 = Date.parse('2026-12-07T12:00:00Z');

function principal(subject: string): Principal {
  return { kind: 'jwt', id: `jwt::${subject}`, subject, scopes: new Set(['mcp:read']), servers: null, tier: null };
}

function verified(subject: string, window: { expiresAt?: number | null; notBefore?: number | null } = {}) {
  return {
    principal: principal(subject),
    expiresAt: window.expiresAt === undefined ? T0 + 60_000 : window.expiresAt,
    notBefore: window.notBefore ?? null,
  } satisfies VerifiedToken;
}

describe('VerifiedTokenCache', () => {
  let now: number;
  const cache = (maxEntries = 100, maxAgeMs = 600_000) =>
    new VerifiedTokenCache({ maxEntries, maxAgeMs, now: () => now });

  beforeEach(() => {
    now = T0;
  });

  it('serves the principal of a verified token until its exp, and not from exp on', () => {
    const tokens = cache();
    const token = verified('alice', { expiresAt: T0 + 5_000 });
    tokens.remember('token-a', token);
    expect(tokens.get('token-a')).toBe(token.principal);
    now = T0 + 4_999;
    expect(tokens.get('token-a')).toBe(token.principal);
    now = T0 + 5_000;
    expect(tokens.get('token-a')).toBeUndefined();
    expect(tokens.size).toBe(0);
  });

  it('reuses a verdict for at most maxAge, even when exp is later or absent', () => {
    const tokens = cache(100, 10_000);
    tokens.remember('long', verified('alice', { expiresAt: T0 + 3_600_000 }));
    tokens.remember('no-exp', verified('bob', { expiresAt: null }));
    now = T0 + 9_999;
    expect(tokens.get('long')?.subject).toBe('alice');
    expect(tokens.get('no-exp')?.subject).toBe('bob');
    now = T0 + 10_000;
    expect(tokens.get('long')).toBeUndefined();
    expect(tokens.get('no-exp')).toBeUndefined();
  });

  it('does not serve a token before its not-before (nbf less the clock skew)', () => {
    const tokens = cache();
    tokens.remember('later', verified('carol', { notBefore: T0 + 2_000 }));
    expect(tokens.get('later')).toBeUndefined();
    now = T0 + 2_000;
    expect(tokens.get('later')?.subject).toBe('carol');
  });

  it('stores nothing for a token already expired when it is remembered', () => {
    const tokens = cache();
    tokens.remember('stale', verified('dave', { expiresAt: T0 }));
    expect(tokens.size).toBe(0);
    expect(tokens.get('stale')).toBeUndefined();
  });

  it('holds at most maxEntries tokens, dropping the least recently used', () => {
    const tokens = cache(2);
    tokens.remember('one', verified('one'));
    tokens.remember('two', verified('two'));
    expect(tokens.get('one')?.subject).toBe('one');
    tokens.remember('three', verified('three'));
    expect(tokens.size).toBe(2);
    expect(tokens.get('two')).toBeUndefined();
    expect(tokens.get('one')?.subject).toBe('one');
    expect(tokens.get('three')?.subject).toBe('three');
  });

  it('keys entries by the SHA-256 of the token and never keeps the token itself', () => {
    const tokens = cache();
    const token = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl';
    tokens.remember(token, verified('alice'));
    const entries = (tokens as unknown as { entries: LRUCache<string, object> }).entries;
    const sha256 = createHash('sha256').update(token).digest('base64url');
    expect([...entries.keys()]).toEqual([sha256]);
    expect(VerifiedTokenCache.keyOf(token)).toBe(sha256);
    expect(JSON.stringify([...entries.dump()])).not.toContain(token);
    // A different token (one character off) is not taken for the cached one.
    expect(tokens.get(`${token.slice(0, -1)}X`)).toBeUndefined();
  });
});
