import { EngineError, EngineErrorCode } from './engine-error';
import type { McpConnection } from './connection';

/**
 * The members of one server's pool: at most `size` sessions (one child each for stdio), one per slot. A slot holds
 * at most one connection at a time, pending or open, and the supervisor only fills a slot again once its previous
 * connection is gone (child reaped): that is what bounds the process count per server by the pool size.
 */
export class ConnectionPool {
  private readonly members: (McpConnection | undefined)[];

  constructor(readonly size: number) {
    this.members = new Array<McpConnection | undefined>(size).fill(undefined);
  }

  /** Pool size of a server: its `poolSize`, else `coreSize`, never above `maxSize`. */
  static sizeFor(poolSize: number | undefined, coreSize: number, maxSize: number): number {
    return Math.max(1, Math.min(poolSize ?? coreSize, maxSize));
  }

  set(slot: number, connection: McpConnection | undefined): void {
    this.members[slot] = connection;
  }

  get(slot: number): McpConnection | undefined {
    return this.members[slot];
  }

  /** The open member with the fewest requests in flight (JSON-RPC is multiplexed, so a busy member still works). */
  pick(): McpConnection | undefined {
    let best: McpConnection | undefined;
    for (const m of this.members) {
      if (m?.isOpen && (best === undefined || m.inFlight < best.inFlight)) {
        best = m;
        if (best.inFlight === 0) break;
      }
    }
    return best;
  }

  get openCount(): number {
    let n = 0;
    for (const m of this.members) if (m?.isOpen) n++;
    return n;
  }

  get inFlight(): number {
    let n = 0;
    for (const m of this.members) n += m?.inFlight ?? 0;
    return n;
  }

  /** Every member, open or not. */
  all(): McpConnection[] {
    return this.members.filter((m): m is McpConnection => m !== undefined);
  }
}

interface Waiter {
  resolve: (release: () => void) => void;
  reject: (error: EngineError) => void;
  settled: boolean;
}

/**
 * Gateway-wide cap on upstream calls in flight (`max-concurrent-connections`) with a FIFO wait queue of
 * `queue-capacity`; beyond it calls fail SERVER_UNAVAILABLE at once. A waiter gives up on its timeout (TIMEOUT) or
 * its caller's signal (CANCELLED). `onDepth` reports the queue depth for metrics.
 */
export class ConcurrencyLimiter {
  private active = 0;
  private readonly queue: Waiter[] = [];
  private head = 0;
  private waiting = 0;

  constructor(
    private readonly max: number,
    private readonly queueCapacity: number,
    private readonly onDepth: (depth: number, active: number) => void = () => undefined,
  ) {}

  get depth(): number {
    return this.waiting;
  }

  get inFlight(): number {
    return this.active;
  }

  /** Resolves with a release function (call it exactly once). */
  acquire(timeoutMs: number, signal?: AbortSignal, label = 'upstream'): Promise<() => void> | (() => void) {
    if (this.active < this.max && this.waiting === 0) {
      this.active++;
      return this.releaser();
    }
    if (this.waiting >= this.queueCapacity) {
      throw new EngineError(
        EngineErrorCode.SERVER_UNAVAILABLE,
        `Too many upstream calls in flight; the queue is full (${this.queueCapacity})`,
        {
          reason: 'queue-full',
          server: label,
        },
      );
    }
    if (signal?.aborted) throw new EngineError(EngineErrorCode.CANCELLED, 'Cancelled by the caller while queued');
    return new Promise<() => void>((resolve, reject) => {
      const cleanup = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
      };
      const waiter: Waiter = {
        settled: false,
        resolve: (release) => {
          cleanup();
          resolve(release);
        },
        reject: (error) => {
          cleanup();
          reject(error);
        },
      };
      const giveUp = (error: EngineError) => {
        if (waiter.settled) return;
        waiter.settled = true;
        this.waiting--;
        this.onDepth(this.waiting, this.active);
        waiter.reject(error);
      };
      const onAbort = () => giveUp(new EngineError(EngineErrorCode.CANCELLED, 'Cancelled by the caller while queued'));
      const timer = setTimeout(
        () =>
          giveUp(
            new EngineError(
              EngineErrorCode.TIMEOUT,
              `Timed out after ${timeoutMs} ms waiting for a free upstream slot`,
              { timeoutMs },
            ),
          ),
        Math.max(timeoutMs, 1),
      );
      signal?.addEventListener('abort', onAbort, { once: true });
      this.queue.push(waiter);
      this.waiting++;
      this.onDepth(this.waiting, this.active);
    });
  }

  private releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.handOver();
    };
  }

  /** Gives the freed permit to the oldest live waiter, or returns it. */
  private handOver(): void {
    while (this.head < this.queue.length) {
      const next = this.queue[this.head]!;
      this.head++;
      if (this.head > 1024 && this.head * 2 > this.queue.length) {
        this.queue.splice(0, this.head);
        this.head = 0;
      }
      if (next.settled) continue;
      next.settled = true;
      this.waiting--;
      this.onDepth(this.waiting, this.active);
      next.resolve(this.releaser());
      return;
    }
    this.queue.length = 0;
    this.head = 0;
    this.active--;
  }
}
