import { type IssuedToken, refreshMargin, TokenCache } from './token-cache';

describe('TokenCache', () => {
  let now = 1_000_000;
  const clock = () => now;
  const token = (name: string, lifetimeMs: number): IssuedToken => ({
    accessToken: name,
    obtainedAt: now,
    expiresAt: now + lifetimeMs,
  });

  beforeEach(() => (now = 1_000_000));

  it('serves a token from the cache until the last fifth of its lifetime, then refreshes it', async () => {
    const cache = new TokenCache({ maxEntries: 10, now: clock });
    let fetched = 0;
    const obtain = jest.fn(async (): Promise<IssuedToken> => token(`t${++fetched}`, 10_000));
    expect(await cache.get('s', obtain)).toEqual({
      token: expect.objectContaining({ accessToken: 't1' }),
      source: 'obtained',
    });
    now += 7_999;
    expect((await cache.get('s', obtain)).source).toBe('cache');
    now += 1;
    const refreshed = await cache.get('s', obtain);
    expect(refreshed).toMatchObject({ token: { accessToken: 't2' }, source: 'refreshed' });
    expect(obtain).toHaveBeenCalledTimes(2);
  });

  it('refreshes at most a minute ahead of a long-lived token', () => {
    expect(refreshMargin(token('x', 3_600_000))).toBe(60_000);
    expect(refreshMargin(token('x', 5_000))).toBe(1_000);
  });

  it('shares one request among concurrent gets of a key, and never hands one key another key’s token', async () => {
    const cache = new TokenCache({ maxEntries: 10, now: clock });
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const obtain = jest.fn(async () => (await gate, token('alice-token', 60_000)));
    const obtainBob = jest.fn(async () => token('bob-token', 60_000));
    const gets = [cache.get('srv\0alice', obtain), cache.get('srv\0alice', obtain), cache.get('srv\0bob', obtainBob)];
    release();
    const [a1, a2, b] = (await Promise.all(gets)).map((g) => g.token.accessToken);
    expect(obtain).toHaveBeenCalledTimes(1);
    expect([a1, a2, b]).toEqual(['alice-token', 'alice-token', 'bob-token']);
  });

  it('keeps serving a still-valid token when its refresh fails, and forgets nothing it never had', async () => {
    const cache = new TokenCache({ maxEntries: 10, now: clock });
    await cache.get('s', async () => token('old', 10_000));
    now += 9_000; // in the refresh window, not expired
    const failing = jest.fn(async () => {
      throw new Error('token endpoint down');
    });
    expect(await cache.get('s', failing)).toMatchObject({
      token: { accessToken: 'old' },
      source: 'stale-after-failed-refresh',
    });
    now += 1_000; // expired now
    await expect(cache.get('s', failing)).rejects.toThrow('token endpoint down');
    expect(cache.size).toBe(0);
    await expect(cache.get('other', failing)).rejects.toThrow('token endpoint down');
    expect(cache.size).toBe(0);
  });

  it('is bounded: the least recently used key goes first, and a server’s keys can be forgotten at once', async () => {
    const cache = new TokenCache({ maxEntries: 2, now: clock });
    await cache.get('a\0p1', async () => token('1', 60_000));
    await cache.get('a\0p2', async () => token('2', 60_000));
    await cache.get('a\0p1', async () => token('unused', 60_000)); // touch p1
    await cache.get('b\0p3', async () => token('3', 60_000));
    const obtain = jest.fn(async () => token('2 again', 60_000));
    expect((await cache.get('a\0p2', obtain)).source).toBe('obtained');
    cache.deletePrefix('a\0');
    expect(cache.size).toBe(1);
  });
});
