export interface BackoffPolicy {
  initialMs: number;
  multiplier: number;
  maxMs: number;
}

/**
 * Delay before the retry that follows attempt number `attempt` (1-based): initial × multiplier^(attempt-1), capped,
 * with up to 20 % taken off at random so a burst of failed deliveries does not come back all at once.
 */
export function retryDelayMs(attempt: number, policy: BackoffPolicy, random: () => number = Math.random): number {
  const exponential = policy.initialMs * policy.multiplier ** Math.max(0, attempt - 1);
  const capped = Math.min(exponential, policy.maxMs);
  return Math.round(capped * (1 - 0.2 * random()));
}
