import { EngineError, EngineErrorCode } from './engine-error';

/** What a caller gets when its signal aborts while it waits (or had aborted already when it came). */
export function cancelledWhileQueued(): EngineError {
  return new EngineError(EngineErrorCode.CANCELLED, 'Cancelled by the caller while queued');
}

/** The longest delay a timer holds: Node fires a longer one after 1 ms (a server's `timeout` may be set in days). */
const MAX_TIMER_MS = 2_147_483_647;

interface Waiter<P, V> {
  readonly payload: P;
  readonly resolve: (value: V) => void;
  readonly reject: (error: EngineError) => void;
  readonly timer: ReturnType<typeof setTimeout>;
  readonly signal: AbortSignal | undefined;
  readonly onAbort: () => void;
  settled: boolean;
}

export interface WaitQueueHooks {
  /** After each change of the number of waiters, with the new number. */
  readonly onDepth?: (depth: number) => void;
  /** After a waiter gave up (timeout, signal) while others still wait: the one that held them back may be gone. */
  readonly onGiveUp?: () => void;
}

/**
 * A FIFO of callers waiting for a value (a permit, a pool member), each until it is served, its timeout passes
 * (TIMEOUT) or its signal aborts (CANCELLED). Its owner decides when and with what waiters are served; `size` is what
 * it checks on its fast path, so that nothing here runs while nobody waits. A waiter that gave up stays in the array,
 * marked settled, until the head passes it (removing it from the middle would cost a copy per give-up).
 */
export class WaitQueue<P, V> {
  private readonly waiters: Waiter<P, V>[] = [];
  private head = 0;
  private live = 0;

  constructor(private readonly hooks: WaitQueueHooks = {}) {}

  /** Callers waiting (not those that gave up). */
  get size(): number {
    return this.live;
  }

  /**
   * Queues a caller with what it waits for (`payload`, given to the serving callback). Settles with the value it is
   * served, `timeoutError()` after `timeoutMs` (built only then: an error's stack costs), or CANCELLED on `signal`,
   * at once when that has aborted already.
   */
  enqueue(payload: P, timeoutMs: number, signal: AbortSignal | undefined, timeoutError: () => EngineError): Promise<V> {
    if (signal?.aborted) return Promise.reject(cancelledWhileQueued());
    return new Promise<V>((resolve, reject) => {
      const waiter: Waiter<P, V> = {
        payload,
        resolve,
        reject,
        signal,
        settled: false,
        timer: setTimeout(() => this.giveUp(waiter, timeoutError()), Math.min(Math.max(timeoutMs, 1), MAX_TIMER_MS)),
        onAbort: () => this.giveUp(waiter, cancelledWhileQueued()),
      };
      signal?.addEventListener('abort', waiter.onAbort, { once: true });
      this.waiters.push(waiter);
      this.live++;
      this.hooks.onDepth?.(this.live);
    });
  }

  /**
   * Strict FIFO: serves waiters from the oldest while `serve` has a value for the oldest one's payload, and stops at
   * the first it has none for (undefined): nobody overtakes it. `serve` takes what it hands out as it returns it.
   */
  serve(serve: (payload: P) => V | undefined): void {
    for (let next = this.oldest(); next !== undefined; next = this.oldest()) {
      const value = serve(next.payload);
      if (value === undefined) return;
      this.settle(next);
      this.hooks.onDepth?.(this.live);
      next.resolve(value);
    }
  }

  /** Hands `value` to the oldest waiter; false (and `value` unused) when nobody waits. */
  serveOldest(value: V): boolean {
    const next = this.oldest();
    if (next === undefined) return false;
    this.settle(next);
    this.hooks.onDepth?.(this.live);
    next.resolve(value);
    return true;
  }

  /** Fails every waiter, oldest first, with `error`. */
  failAll(error: EngineError): void {
    if (this.live === 0) return;
    for (let next = this.oldest(); next !== undefined; next = this.oldest()) {
      this.settle(next);
      next.reject(error);
    }
    this.hooks.onDepth?.(0);
  }

  /** The oldest waiter still waiting; drops the settled ones before it. */
  private oldest(): Waiter<P, V> | undefined {
    while (this.head < this.waiters.length) {
      const next = this.waiters[this.head]!;
      if (!next.settled) return next;
      this.head++;
      // Drop the served prefix once it is most of the array, so that a long busy spell does not keep it all.
      if (this.head > 1024 && this.head * 2 > this.waiters.length) {
        this.waiters.splice(0, this.head);
        this.head = 0;
      }
    }
    return undefined;
  }

  private settle(waiter: Waiter<P, V>): void {
    waiter.settled = true;
    clearTimeout(waiter.timer);
    waiter.signal?.removeEventListener('abort', waiter.onAbort);
    if (--this.live === 0) {
      // Nobody waits: what is left are waiters that gave up.
      this.waiters.length = 0;
      this.head = 0;
    }
  }

  private giveUp(waiter: Waiter<P, V>, error: EngineError): void {
    if (waiter.settled) return;
    this.settle(waiter);
    this.hooks.onDepth?.(this.live);
    waiter.reject(error);
    if (this.live > 0) {
      // A head that waits long (a placement waiter, for a session's call) keeps the array from being trimmed at the
      // front: drop those that gave up behind it once they outnumber the live ones (each costs its payload, signal
      // and error until then). Amortized: at least 1,024 give-ups between two passes.
      const gone = this.waiters.length - this.head - this.live;
      if (gone > 1024 && gone > this.live) this.compact();
      this.hooks.onGiveUp?.();
    }
  }

  /** Keeps only the waiters still waiting, in order. */
  private compact(): void {
    let kept = 0;
    for (let i = this.head; i < this.waiters.length; i++) {
      const next = this.waiters[i]!;
      if (!next.settled) this.waiters[kept++] = next;
    }
    this.waiters.length = kept;
    this.head = 0;
  }
}
