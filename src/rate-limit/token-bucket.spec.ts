import { MemoryBucketStore, takeToken, type BucketLimits } from './token-bucket';

/** A clock the test moves by hand. */
function manualClock(start = 1_000_000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

// 60 a minute = one token per second; bursts of 5.
const LIMITS: BucketLimits = { requestsPerMinute: 60, burstCapacity: 5 };

describe('token bucket', () => {
  it('starts full: a burst of burst-capacity passes, the next is refused with the time to one token', () => {
    const clock = manualClock();
    const store = new MemoryBucketStore(clock.now);
    const results = Array.from({ length: 6 }, () => store.takeNow('a', LIMITS));
    expect(results.map((r) => r.allowed)).toEqual([true, true, true, true, true, false]);
    expect(results.map((r) => r.remaining)).toEqual([4, 3, 2, 1, 0, 0]);
    expect(results[5]).toMatchObject({ msUntilNext: 1000, msUntilFull: 5000 });
    expect(results[0]).toMatchObject({ msUntilNext: 0, msUntilFull: 1000 });
  });

  it('refills continuously at requests-per-minute, not a whole burst at a window boundary', () => {
    const clock = manualClock();
    const store = new MemoryBucketStore(clock.now);
    for (let i = 0; i < 5; i++) store.takeNow('a', LIMITS);
    clock.advance(999);
    expect(store.takeNow('a', LIMITS)).toMatchObject({ allowed: false, msUntilNext: 1 });
    clock.advance(1);
    expect(store.takeNow('a', LIMITS)).toMatchObject({ allowed: true, remaining: 0 });
    expect(store.takeNow('a', LIMITS).allowed).toBe(false);
    // 2.5 s later: two and a half tokens; two requests pass, the half stays for the next one.
    clock.advance(2500);
    expect([1, 2, 3].map(() => store.takeNow('a', LIMITS).allowed)).toEqual([true, true, false]);
    expect(store.takeNow('a', LIMITS).msUntilNext).toBe(500);
  });

  it('never holds more than burst-capacity however long the principal was idle', () => {
    const clock = manualClock();
    const store = new MemoryBucketStore(clock.now);
    store.takeNow('a', LIMITS);
    clock.advance(60 * 60_000);
    const results = Array.from({ length: 6 }, () => store.takeNow('a', LIMITS).allowed);
    expect(results).toEqual([true, true, true, true, true, false]);
  });

  it('does not charge refused requests: retrying in a loop does not delay recovery', () => {
    const clock = manualClock();
    const store = new MemoryBucketStore(clock.now);
    for (let i = 0; i < 5; i++) store.takeNow('a', LIMITS);
    for (let i = 0; i < 9; i++) {
      clock.advance(100);
      expect(store.takeNow('a', LIMITS).allowed).toBe(false);
    }
    clock.advance(100);
    expect(store.takeNow('a', LIMITS).allowed).toBe(true);
  });

  it('keeps one bucket per key', () => {
    const store = new MemoryBucketStore(manualClock().now);
    for (let i = 0; i < 5; i++) store.takeNow('a', LIMITS);
    expect(store.takeNow('a', LIMITS).allowed).toBe(false);
    expect(store.takeNow('b', LIMITS)).toMatchObject({ allowed: true, remaining: 4 });
  });

  it('refills nothing when the clock goes backwards', () => {
    const first = takeToken(undefined, LIMITS, 10_000);
    const back = takeToken({ tokens: 0.5, updatedAt: 10_000 }, LIMITS, 9_000);
    expect(first.state.tokens).toBe(4);
    expect(back.result.allowed).toBe(false);
    expect(back.state.tokens).toBe(0.5);
  });

  it('handles rates that are not whole tokens per second (tier free: 100 a minute, burst 20)', () => {
    const free = { requestsPerMinute: 100, burstCapacity: 20 };
    const clock = manualClock();
    const store = new MemoryBucketStore(clock.now);
    for (let i = 0; i < 20; i++) expect(store.takeNow('k', free).allowed).toBe(true);
    const refused = store.takeNow('k', free);
    expect(refused).toMatchObject({ allowed: false, msUntilNext: 600, msUntilFull: 12_000 });
    clock.advance(600);
    expect(store.takeNow('k', free).allowed).toBe(true);
  });

  it('drops buckets that have refilled completely once the map is large', () => {
    const clock = manualClock();
    const store = new MemoryBucketStore(clock.now);
    for (let i = 0; i < 10_001; i++) store.takeNow(`ip:${i}`, LIMITS);
    expect(store.size).toBe(10_001);
    clock.advance(1000); // each bucket gave one token: full again after one second
    store.takeNow('fresh', LIMITS);
    expect(store.size).toBe(1);
  });
});
