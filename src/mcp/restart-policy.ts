/** How a supervisor reconnects a member that went down. */
export interface RetryPolicy {
  maxAttempts: number;
  backoffMultiplier: number;
  initialInterval: number;
  maxInterval: number;
}

export interface CrashLoopPolicy {
  /** This many crashes (unexpected closes or failed connects)... */
  maxCrashes: number;
  /** ...within this window park the server in `error`. */
  windowMs: number;
}

/**
 * The wait before reconnect attempt `attempts` (0-based): `initialInterval * multiplier^n` for the first
 * `maxAttempts` attempts, then `maxInterval` forever.
 */
export function reconnectDelay(retry: RetryPolicy, attempts: number): number {
  const { initialInterval, backoffMultiplier, maxAttempts, maxInterval } = retry;
  return attempts < maxAttempts ? Math.min(initialInterval * backoffMultiplier ** attempts, maxInterval) : maxInterval;
}

/** The crashes of one server within the crash-loop window. */
export class CrashWindow {
  private crashes: number[] = [];

  constructor(private readonly policy: CrashLoopPolicy) {}

  /** Counts a crash at `now` (ms); the number of crashes within the window, this one included. */
  record(now: number): number {
    this.crashes.push(now);
    this.crashes = this.crashes.filter((t) => now - t <= this.policy.windowMs);
    return this.crashes.length;
  }

  /** Whether `count` crashes within the window make a crash loop. */
  isLoop(count: number): boolean {
    return count >= this.policy.maxCrashes;
  }

  get windowMs(): number {
    return this.policy.windowMs;
  }

  clear(): void {
    this.crashes = [];
  }
}
