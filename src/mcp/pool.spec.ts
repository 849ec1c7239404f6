import { EngineErrorCode } from './engine-error';
import { ConcurrencyLimiter, ConnectionPool } from './pool';

describe('ConcurrencyLimiter', () => {
  it('grants up to max at once, queues FIFO, and refuses beyond the queue capacity', async () => {
    const depths: number[] = [];
    const limiter = new ConcurrencyLimiter(2, 2, (d) => depths.push(d));
    const a = limiter.acquire(1_000) as () => void;
    const b = limiter.acquire(1_000) as () => void;
    expect(typeof a).toBe('function');
    const order: string[] = [];
    const c = (limiter.acquire(1_000) as Promise<() => void>).then((r) => (order.push('c'), r));
    const d = (limiter.acquire(1_000) as Promise<() => void>).then((r) => (order.push('d'), r));
    expect(() => limiter.acquire(1_000)).toThrow(expect.objectContaining({ code: EngineErrorCode.SERVER_UNAVAILABLE }));
    expect(limiter.depth).toBe(2);
    a();
    a(); // double release is harmless
    const releaseC = await c;
    b();
    const releaseD = await d;
    expect(order).toEqual(['c', 'd']);
    expect(limiter.inFlight).toBe(2);
    releaseC();
    releaseD();
    expect(limiter.inFlight).toBe(0);
    expect(limiter.depth).toBe(0);
    expect(depths).toEqual([1, 2, 1, 0]);
  });

  it('times out and cancels queued waiters without losing permits', async () => {
    const limiter = new ConcurrencyLimiter(1, 10);
    const held = limiter.acquire(1_000) as () => void;
    await expect(limiter.acquire(20)).rejects.toMatchObject({ code: EngineErrorCode.TIMEOUT });
    const controller = new AbortController();
    const cancelled = limiter.acquire(1_000, controller.signal);
    controller.abort();
    await expect(cancelled).rejects.toMatchObject({ code: EngineErrorCode.CANCELLED });
    expect(limiter.depth).toBe(0);
    held();
    expect(limiter.inFlight).toBe(0);
    expect(typeof limiter.acquire(10)).toBe('function');
  });
});

describe('ConnectionPool', () => {
  it('sizes a pool from poolSize, coreSize and maxSize', () => {
    expect(ConnectionPool.sizeFor(undefined, 2, 16)).toBe(2);
    expect(ConnectionPool.sizeFor(8, 2, 16)).toBe(8);
    expect(ConnectionPool.sizeFor(100, 2, 16)).toBe(16);
  });

  it('picks the open member with the fewest requests in flight', () => {
    const pool = new ConnectionPool(3);
    const member = (isOpen: boolean, inFlight: number) => ({ isOpen, inFlight }) as never;
    pool.set(0, member(true, 3));
    pool.set(1, member(false, 0));
    pool.set(2, member(true, 1));
    expect(pool.pick()).toBe(pool.get(2));
    expect(pool.openCount).toBe(2);
    expect(pool.inFlight).toBe(4);
  });
});
