/** Limits of one bucket: it holds up to `burstCapacity` requests and refills `requestsPerMinute` continuously. */
export interface BucketLimits {
  requestsPerMinute: number;
  burstCapacity: number;
}

/** What is kept per principal: the tokens left (fractional) at `updatedAt` (epoch ms). */
export interface BucketState {
  tokens: number;
  updatedAt: number;
}

/** The answer to "may this request pass?", with what the X-RateLimit-* and Retry-After headers need. */
export interface TakeResult {
  allowed: boolean;
  /** Whole requests still available right after this one (X-RateLimit-Remaining). */
  remaining: number;
  /** Until one more request may pass (0 when one may pass now): Retry-After of a refusal. */
  msUntilNext: number;
  /** Until the bucket is full again (X-RateLimit-Reset = now + this). */
  msUntilFull: number;
}

/**
 * Slack for floating-point sums: ten refills of 0.1 token add up to 0.9999999999999999, which must count as one.
 * Far below anything a real rate produces (a millisecond of 1 request a minute is 1.7e-5 token).
 */
export const EPSILON = 1e-9;

/** Tokens a bucket gains per millisecond. */
export const refillPerMs = (limits: BucketLimits): number => limits.requestsPerMinute / 60_000;

/**
 * One request against a bucket: refill for the time elapsed since the last update (never above the capacity;
 * a clock that went backwards refills nothing), then take one token if a whole one is there. A refused request
 * takes nothing, so a client retrying in a loop does not push its own recovery further out. A principal seen for
 * the first time starts with a full bucket. The Redis script (redis-bucket.store.ts) is the same computation in Lua.
 */
export function takeToken(
  state: BucketState | undefined,
  limits: BucketLimits,
  now: number,
): { state: BucketState; result: TakeResult } {
  const perMs = refillPerMs(limits);
  const elapsed = state ? Math.max(0, now - state.updatedAt) : 0;
  let tokens = state ? Math.min(limits.burstCapacity, state.tokens + elapsed * perMs) : limits.burstCapacity;
  const allowed = tokens >= 1 - EPSILON;
  if (allowed) tokens = Math.max(0, tokens - 1);
  return { state: { tokens, updatedAt: now }, result: resultFor(allowed, tokens, limits) };
}

/** The headers' numbers for a bucket holding `tokens` after the decision. */
export function resultFor(allowed: boolean, tokens: number, limits: BucketLimits): TakeResult {
  const perMs = refillPerMs(limits);
  return {
    allowed,
    remaining: Math.max(0, Math.floor(tokens + EPSILON)),
    msUntilNext: tokens >= 1 - EPSILON ? 0 : Math.ceil((1 - tokens) / perMs - EPSILON),
    msUntilFull: Math.max(0, Math.ceil((limits.burstCapacity - tokens) / perMs - EPSILON)),
  };
}

/** Where buckets live: one process (memory) or every replica (Redis). */
export interface BucketStore {
  take(key: string, limits: BucketLimits): Promise<TakeResult>;
}

/** Entries above which the memory store drops buckets that have refilled completely (they equal a new bucket). */
const SWEEP_ABOVE = 10_000;

/**
 * Buckets in this process: used without Redis, and while Redis is unreachable. A bucket that has refilled to its
 * capacity carries no information (a new one starts full), so those are dropped when the map grows, which keeps
 * per-address buckets of anonymous floods from growing without bound.
 */
export class MemoryBucketStore implements BucketStore {
  private readonly buckets = new Map<string, BucketState & { fullAt: number }>();
  private lastSweep = 0;

  constructor(private readonly clock: () => number = Date.now) {}

  take(key: string, limits: BucketLimits): Promise<TakeResult> {
    return Promise.resolve(this.takeNow(key, limits));
  }

  takeNow(key: string, limits: BucketLimits): TakeResult {
    const now = this.clock();
    const { state, result } = takeToken(this.buckets.get(key), limits, now);
    this.buckets.set(key, { ...state, fullAt: now + result.msUntilFull });
    // At most once a second: with more live buckets than the threshold, a sweep per request would cost O(n) each.
    if (this.buckets.size > SWEEP_ABOVE && now - this.lastSweep >= 1000) this.sweep(now);
    return result;
  }

  /** Buckets held (for tests). */
  get size(): number {
    return this.buckets.size;
  }

  sweep(now = this.clock()): void {
    this.lastSweep = now;
    for (const [key, bucket] of this.buckets) if (bucket.fullAt <= now) this.buckets.delete(key);
  }
}
