import { retryDelayMs } from './webhook-backoff';

describe('retryDelayMs', () => {
  const policy = { initialMs: 1000, multiplier: 2, maxMs: 10_000 };

  it('grows by the multiplier from the initial delay, up to the cap', () => {
    const none = () => 0;
    expect([1, 2, 3, 4, 5, 6].map((a) => retryDelayMs(a, policy, none))).toEqual([
      1000, 2000, 4000, 8000, 10_000, 10_000,
    ]);
  });

  it('takes at most 20 % off at random', () => {
    expect(retryDelayMs(2, policy, () => 0.999_999)).toBe(1600);
    expect(retryDelayMs(2, policy, () => 0.5)).toBe(1800);
  });
});
