import { CrashWindow, reconnectDelay } from './restart-policy';

describe('restart policy', () => {
  it('backs off exponentially for maxAttempts, then waits maxInterval forever', () => {
    const retry = { maxAttempts: 3, backoffMultiplier: 2, initialInterval: 100, maxInterval: 1_000 };
    expect([0, 1, 2, 3, 10].map((n) => reconnectDelay(retry, n))).toEqual([100, 200, 400, 1_000, 1_000]);
    expect(reconnectDelay({ ...retry, maxAttempts: 10 }, 5)).toBe(1_000);
  });

  it('counts only the crashes within the window, and a loop at maxCrashes', () => {
    const window = new CrashWindow({ maxCrashes: 3, windowMs: 1_000 });
    expect(window.record(0)).toBe(1);
    expect(window.record(500)).toBe(2);
    expect(window.record(1_600)).toBe(1);
    expect(window.isLoop(window.record(1_700))).toBe(false);
    expect(window.isLoop(window.record(1_800))).toBe(true);
    window.clear();
    expect(window.record(1_900)).toBe(1);
  });
});
