import { EngineError, EngineErrorCode } from './engine-error';
import { WaitQueue } from './wait-queue';

const timeout = (ms: number) => () => new EngineError(EngineErrorCode.TIMEOUT, `waited ${ms} ms`, { timeoutMs: ms });

/** What a waiter settled to, without awaiting one that still waits. */
function track<V>(promise: Promise<V>) {
  const state: { value?: V; error?: EngineError } = {};
  promise.then(
    (value) => (state.value = value),
    (error: EngineError) => (state.error = error),
  );
  return state;
}
const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('WaitQueue', () => {
  afterEach(() => jest.useRealTimers());

  it('serves waiters oldest first, with what the callback hands out for each payload', async () => {
    const queue = new WaitQueue<string, string>();
    const waiters = ['a', 'b', 'c'].map((name) => track(queue.enqueue(name, 1_000, undefined, timeout(1_000))));
    expect(queue.size).toBe(3);
    const asked: string[] = [];
    queue.serve((name) => (asked.push(name), `${name}!`));
    await settle();
    expect(asked).toEqual(['a', 'b', 'c']);
    expect(waiters.map((w) => w.value)).toEqual(['a!', 'b!', 'c!']);
    expect(queue.size).toBe(0);
  });

  it('stops serving at the first waiter the callback cannot serve, even when later ones could be', async () => {
    const queue = new WaitQueue<number, number>();
    const waiters = [1, 5, 2].map((need) => track(queue.enqueue(need, 1_000, undefined, timeout(1_000))));
    let free = 4;
    const serve = (need: number) => (need <= free ? ((free -= need), need) : undefined);
    queue.serve(serve);
    await settle();
    // 5 does not fit in the 3 left; 2 would, but waits behind it.
    expect(waiters.map((w) => w.value)).toEqual([1, undefined, undefined]);
    expect(queue.size).toBe(2);
    free = 7;
    queue.serve(serve);
    await settle();
    expect(waiters.map((w) => w.value)).toEqual([1, 5, 2]);
    expect(free).toBe(0);
  });

  it('hands a value to the oldest waiter, and says when nobody waits', async () => {
    const queue = new WaitQueue<undefined, string>();
    expect(queue.serveOldest('unused')).toBe(false);
    const first = track(queue.enqueue(undefined, 1_000, undefined, timeout(1_000)));
    const second = track(queue.enqueue(undefined, 1_000, undefined, timeout(1_000)));
    expect(queue.serveOldest('x')).toBe(true);
    await settle();
    expect([first.value, second.value]).toEqual(['x', undefined]);
    expect(queue.size).toBe(1);
  });

  it('fails a waiter with its TIMEOUT error once its time is up; the next one is still served', async () => {
    jest.useFakeTimers();
    const gaveUp = jest.fn();
    const queue = new WaitQueue<string, string>({ onGiveUp: gaveUp });
    const early = track(queue.enqueue('early', 50, undefined, timeout(50)));
    const late = track(queue.enqueue('late', 1_000, undefined, timeout(1_000)));
    jest.advanceTimersByTime(50);
    await Promise.resolve();
    expect(early.error).toMatchObject({
      code: EngineErrorCode.TIMEOUT,
      message: 'waited 50 ms',
      details: { timeoutMs: 50 },
    });
    expect(queue.size).toBe(1);
    expect(gaveUp).toHaveBeenCalledTimes(1);
    expect(queue.serveOldest('served')).toBe(true);
    await Promise.resolve();
    expect(late.value).toBe('served');
    // A served waiter's timer is gone: nothing fires later.
    jest.advanceTimersByTime(2_000);
    await Promise.resolve();
    expect(late.error).toBeUndefined();
    expect(gaveUp).toHaveBeenCalledTimes(1);
  });

  it('waits out a timeout longer than a timer can hold (24.8 days) instead of failing at once', async () => {
    jest.useFakeTimers();
    const queue = new WaitQueue<string, string>();
    const days30 = 30 * 24 * 3_600_000;
    const waiter = track(queue.enqueue('patient', days30, undefined, timeout(days30)));
    // Node (and the fake clock) fire a timer of more than 2^31-1 ms after 1 ms.
    jest.advanceTimersByTime(60_000);
    await Promise.resolve();
    expect(waiter.error).toBeUndefined();
    expect(queue.serveOldest('served')).toBe(true);
    await Promise.resolve();
    expect(waiter.value).toBe('served');
  });

  it('fails a waiter CANCELLED when its signal aborts, and at once when it had aborted already', async () => {
    const gaveUp = jest.fn();
    const queue = new WaitQueue<string, string>({ onGiveUp: gaveUp });
    const controller = new AbortController();
    const cancelled = queue.enqueue('cancelled', 1_000, controller.signal, timeout(1_000));
    const next = track(queue.enqueue('next', 1_000, undefined, timeout(1_000)));
    controller.abort();
    await expect(cancelled).rejects.toMatchObject({
      code: EngineErrorCode.CANCELLED,
      message: 'Cancelled by the caller while queued',
    });
    expect(queue.size).toBe(1);
    expect(gaveUp).toHaveBeenCalledTimes(1);
    queue.serve((name) => name);
    await settle();
    expect(next.value).toBe('next');

    const aborted = new AbortController();
    aborted.abort();
    const depths: number[] = [];
    const other = new WaitQueue<string, string>({ onDepth: (d) => depths.push(d) });
    await expect(other.enqueue('late', 1_000, aborted.signal, timeout(1_000))).rejects.toMatchObject({
      code: EngineErrorCode.CANCELLED,
    });
    expect(other.size).toBe(0);
    expect(depths).toEqual([]);
  });

  it('tells the owner of a give-up only while others still wait', async () => {
    const gaveUp = jest.fn();
    const queue = new WaitQueue<string, string>({ onGiveUp: gaveUp });
    const controller = new AbortController();
    const alone = queue.enqueue('alone', 1_000, controller.signal, timeout(1_000));
    controller.abort();
    await expect(alone).rejects.toMatchObject({ code: EngineErrorCode.CANCELLED });
    expect(gaveUp).not.toHaveBeenCalled();
  });

  it('fails every waiter with the given error, oldest first, and is empty after', async () => {
    const queue = new WaitQueue<string, string>();
    const order: string[] = [];
    const waiters = ['a', 'b', 'c'].map((name) =>
      queue.enqueue(name, 1_000, undefined, timeout(1_000)).catch((e: EngineError) => (order.push(name), e)),
    );
    const down = new EngineError(EngineErrorCode.SERVER_UNAVAILABLE, 'down');
    queue.failAll(down);
    expect(queue.size).toBe(0);
    expect(await Promise.all(waiters)).toEqual([down, down, down]);
    expect(order).toEqual(['a', 'b', 'c']);
    expect(queue.serveOldest('nobody')).toBe(false);
  });

  it('keeps count and order over 5,000 waiters served one by one, with give-ups and newcomers among them', async () => {
    const queue = new WaitQueue<number, number>();
    const controllers: AbortController[] = [];
    const served: [number, number][] = [];
    const waiters: Promise<unknown>[] = [];
    const enqueue = (id: number, signal?: AbortSignal) =>
      waiters.push(
        queue.enqueue(id, 60_000, signal, timeout(60_000)).then(
          (turn) => served.push([id, turn]),
          () => undefined,
        ),
      );
    // Every tenth waiter gives up (its signal aborts); the others are served.
    for (let id = 0; id < 5_000; id++) {
      const controller = id % 10 === 9 ? new AbortController() : undefined;
      if (controller) controllers.push(controller);
      enqueue(id, controller?.signal);
    }
    for (const controller of controllers) controller.abort();
    expect(queue.size).toBe(4_500);
    for (let turn = 0; turn < 5_000; turn++) {
      // Newcomers queue behind those still waiting while the head is far along.
      if (turn === 3_000) for (let id = 5_000; id < 5_500; id++) enqueue(id);
      expect(queue.serveOldest(turn)).toBe(true);
      expect(queue.size).toBe((turn < 3_000 ? 4_500 : 5_000) - turn - 1);
    }
    expect(queue.serveOldest(-1)).toBe(false);
    await Promise.all(waiters);
    const expected = Array.from({ length: 5_500 }, (_, id) => id).filter((id) => id >= 5_000 || id % 10 !== 9);
    expect(served).toEqual(expected.map((id, turn) => [id, turn]));
  });

  it('does not keep every waiter that gave up behind a head that waits long (a placement queue stuck on one session)', async () => {
    const queue = new WaitQueue<number, number>();
    const stored = () => (queue as unknown as { waiters: unknown[] }).waiters.length;
    const head = queue.enqueue(-1, 60_000, undefined, timeout(60_000));
    const gaveUp: Promise<unknown>[] = [];
    for (let id = 0; id < 20_000; id++) {
      const controller = new AbortController();
      gaveUp.push(queue.enqueue(id, 60_000, controller.signal, timeout(60_000)).catch(() => undefined));
      controller.abort();
    }
    await Promise.all(gaveUp);
    expect(queue.size).toBe(1);
    // What the waiters that gave up hold (their payload, signal, error) is not kept until the head is served.
    expect(stored()).toBeLessThan(5_000);
    const later = queue.enqueue(1, 60_000, undefined, timeout(60_000));
    expect(queue.serveOldest(10)).toBe(true);
    expect(queue.serveOldest(11)).toBe(true);
    expect(await Promise.all([head, later])).toEqual([10, 11]);
    expect(stored()).toBe(0);
  });

  it('reports the number of waiters after each change to the depth hook', async () => {
    const depths: number[] = [];
    const queue = new WaitQueue<string, string>({ onDepth: (d) => depths.push(d) });
    const controller = new AbortController();
    const a = queue.enqueue('a', 1_000, undefined, timeout(1_000));
    const b = queue.enqueue('b', 1_000, controller.signal, timeout(1_000));
    const c = queue.enqueue('c', 1_000, undefined, timeout(1_000));
    const d = queue.enqueue('d', 1_000, undefined, timeout(1_000));
    controller.abort();
    queue.serveOldest('x');
    queue.serve((name) => (name === 'c' ? name : undefined));
    queue.failAll(new EngineError(EngineErrorCode.SERVER_UNAVAILABLE, 'down'));
    queue.failAll(new EngineError(EngineErrorCode.SERVER_UNAVAILABLE, 'again'));
    expect(depths).toEqual([1, 2, 3, 4, 3, 2, 1, 0]);
    await Promise.allSettled([a, b, c, d]);
  });
});
