import { EngineError, EngineErrorCode } from './engine-error';
import type { McpConnection } from './connection';
import { WaitQueue, cancelledWhileQueued } from './wait-queue';

/** What placement needs to know of a call's origin (a `CallOrigin`; see there). */
export interface PlacementKey {
  /** Calls of one client session share it. */
  readonly group: string;
  /** The session can answer server-to-client requests (sampling, elicitation, roots). */
  readonly answers: boolean;
}

/**
 * Calls placed on one member and not yet released. "Answering" calls (origin that answers server-to-client requests)
 * of one group at most; "plain" calls are the others (REST, internal, origins that cannot answer).
 */
export class MemberLoad {
  plain = 0;
  answering = 0;
  /** The group of the answering calls, while there are any. */
  group: string | undefined = undefined;

  get total(): number {
    return this.plain + this.answering;
  }
}

/** The part of a member placement looks at (an `McpConnection`; plain objects in tests). */
export interface PoolMember {
  readonly isOpen: boolean;
  readonly inFlight: number;
  readonly load: MemberLoad;
  /**
   * What the upstream asks and logs during a call is tied to that call (a 2026-07-28 member: questions come back in
   * the call's own `input_required` result, messages on its own response stream), so the member needs no answering
   * group and is shared by every call. Constant for the member's life.
   */
  readonly routesByCall?: boolean;
}

/** Whether a call of `origin` counts as answering on `member` (see `PoolMember.routesByCall`). */
function answersOn(member: PoolMember, origin: PlacementKey | undefined): origin is PlacementKey {
  return origin?.answers === true && member.routesByCall !== true;
}

/**
 * The members of one server's pool: at most `size` sessions (one child each for stdio), one per slot. A slot holds
 * at most one connection at a time, pending or open, and the supervisor only fills a slot again once its previous
 * connection is gone (child reaped): that is what bounds the process count per server by the pool size.
 *
 * Placement (`place`/`release`): an upstream's server-to-client request carries no link to the call that caused it
 * (stdio has no request context), so the pool keeps every member unambiguous instead. A call whose origin can answer
 * such requests runs only on a member where every placed call belongs to its own group (its client session); any
 * other call only on a member with no answering call placed. A member therefore either serves one answering group, or
 * only calls that cannot answer; the connection routes server-to-client requests to that group (see `McpConnection`).
 * When no member fits, the call waits in a strict FIFO (bounded by `queueCapacity`, its timeout and its signal) until
 * one does: no connection beyond the pool size is ever opened for it. With no answering call anywhere and nobody
 * waiting, a plain call takes the least busy member at once: placement costs nothing when nothing competes.
 */
export class ConnectionPool<M extends PoolMember = McpConnection> {
  private readonly members: (M | undefined)[];
  /** Answering calls placed on any member (also ones since gone from the pool, until released). */
  private answeringCalls = 0;
  /** Calls waiting for a member they may run on, by origin; when a waiter gives up, the one behind may now fit. */
  private readonly waiters = new WaitQueue<PlacementKey | undefined, M>({ onGiveUp: () => this.dispatch() });

  constructor(
    readonly size: number,
    private readonly queueCapacity = Number.POSITIVE_INFINITY,
    /** Called each time a call has to wait for a member it may run on. */
    private readonly onWait: () => void = () => undefined,
    private readonly label = 'upstream',
  ) {
    this.members = new Array<M | undefined>(size).fill(undefined);
  }

  /** Pool size of a server: its `poolSize`, else `coreSize`, never above `maxSize`. */
  static sizeFor(poolSize: number | undefined, coreSize: number, maxSize: number): number {
    return Math.max(1, Math.min(poolSize ?? coreSize, maxSize));
  }

  set(slot: number, connection: M | undefined): void {
    this.members[slot] = connection;
    if (connection?.isOpen && this.waiters.size > 0) this.dispatch();
  }

  get(slot: number): M | undefined {
    return this.members[slot];
  }

  /** The open member with the fewest requests in flight (JSON-RPC is multiplexed, so a busy member still works). */
  pick(): M | undefined {
    let best: M | undefined;
    for (const m of this.members) {
      if (m?.isOpen && (best === undefined || m.inFlight < best.inFlight)) {
        best = m;
        if (best.inFlight === 0) break;
      }
    }
    return best;
  }

  /** Calls waiting for a member they may run on. */
  get placementDepth(): number {
    return this.waiters.size;
  }

  /**
   * Places a call (see the class comment): a member at once, a promise of one when the call must wait (TIMEOUT after
   * `timeoutMs`, CANCELLED on `signal`, SERVER_UNAVAILABLE at once when the queue is full), or undefined when no member
   * is open. Every member handed out must be given back to `release` with the same origin, exactly once.
   */
  place(origin: PlacementKey | undefined, timeoutMs: number, signal?: AbortSignal): M | Promise<M> | undefined {
    const answers = origin?.answers === true;
    if (!answers && this.answeringCalls === 0 && this.waiters.size === 0) {
      // Hot path (REST-only traffic): every member fits.
      const member = this.pick();
      if (member) member.load.plain++;
      return member;
    }
    if (this.openCount === 0) return undefined;
    if (this.waiters.size === 0) {
      const member = this.fitting(origin);
      if (member) {
        this.take(member, origin);
        return member;
      }
    }
    return this.wait(origin, timeoutMs, signal);
  }

  /** Gives back what `place` handed out; the oldest waiter that now fits gets a member. */
  release(member: M, origin: PlacementKey | undefined): void {
    const load = member.load;
    if (answersOn(member, origin)) {
      load.answering--;
      if (load.answering === 0) load.group = undefined;
      this.answeringCalls--;
    } else {
      load.plain--;
    }
    if (this.waiters.size > 0) this.dispatch();
  }

  /** Fails every waiter (the server went down or stopped: the circuit is open, as for new calls). */
  failWaiters(error: EngineError): void {
    this.waiters.failAll(error);
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
  all(): M[] {
    return this.members.filter((m): m is M => m !== undefined);
  }

  /** The least loaded open member the call may run on (an idle one first), if any. */
  private fitting(origin: PlacementKey | undefined): M | undefined {
    const group = origin?.answers === true ? origin.group : undefined;
    let best: M | undefined;
    for (const m of this.members) {
      if (!m?.isOpen) continue;
      const load = m.load;
      const fits =
        m.routesByCall === true ||
        (group !== undefined
          ? load.plain === 0 && (load.answering === 0 || load.group === group)
          : load.answering === 0);
      if (fits && (best === undefined || load.total < best.load.total)) {
        best = m;
        if (load.total === 0) break;
      }
    }
    return best;
  }

  private take(member: M, origin: PlacementKey | undefined): void {
    const load = member.load;
    if (answersOn(member, origin)) {
      load.answering++;
      load.group = origin.group;
      this.answeringCalls++;
    } else {
      load.plain++;
    }
  }

  private wait(origin: PlacementKey | undefined, timeoutMs: number, signal?: AbortSignal): Promise<M> {
    if (this.waiters.size >= this.queueCapacity) {
      return Promise.reject(
        new EngineError(
          EngineErrorCode.SERVER_UNAVAILABLE,
          `Too many calls waiting for a connection of '${this.label}' they may share; the queue is full (${this.queueCapacity})`,
          { reason: 'queue-full', server: this.label },
        ),
      );
    }
    // Checked here as well as in the queue: a call that never waits does not count as a wait.
    if (signal?.aborted) return Promise.reject(cancelledWhileQueued());
    this.onWait();
    return this.waiters.enqueue(
      origin,
      timeoutMs,
      signal,
      () =>
        new EngineError(
          EngineErrorCode.TIMEOUT,
          `Timed out after ${timeoutMs} ms waiting for a connection of '${this.label}' it may share`,
          { timeoutMs },
        ),
    );
  }

  /** Strict FIFO: serves waiters from the oldest while each fits somewhere; nobody overtakes a waiter that does not. */
  private dispatch(): void {
    this.waiters.serve((origin) => {
      const member = this.fitting(origin);
      if (member) this.take(member, origin);
      return member;
    });
  }
}

/**
 * Gateway-wide cap on upstream calls in flight (`max-concurrent-connections`) with a FIFO wait queue of
 * `queue-capacity`; beyond it calls fail SERVER_UNAVAILABLE at once. A waiter gives up on its timeout (TIMEOUT) or
 * its caller's signal (CANCELLED). `onDepth` reports the queue depth for metrics.
 */
export class ConcurrencyLimiter {
  private active = 0;
  /** A waiter is served a release function: the permit passes to it without ever being free. */
  private readonly waiters = new WaitQueue<undefined, () => void>({
    onDepth: (depth) => this.onDepth(depth, this.active),
  });

  constructor(
    private readonly max: number,
    private readonly queueCapacity: number,
    private readonly onDepth: (depth: number, active: number) => void = () => undefined,
  ) {}

  get depth(): number {
    return this.waiters.size;
  }

  get inFlight(): number {
    return this.active;
  }

  /** Resolves with a release function (call it exactly once). */
  acquire(timeoutMs: number, signal?: AbortSignal, label = 'upstream'): Promise<() => void> | (() => void) {
    if (this.active < this.max && this.waiters.size === 0) {
      this.active++;
      return this.releaser();
    }
    if (this.waiters.size >= this.queueCapacity) {
      throw new EngineError(
        EngineErrorCode.SERVER_UNAVAILABLE,
        `Too many upstream calls in flight; the queue is full (${this.queueCapacity})`,
        {
          reason: 'queue-full',
          server: label,
        },
      );
    }
    // Thrown, as the queue-full error above: the caller gets no promise unless it waits.
    if (signal?.aborted) throw cancelledWhileQueued();
    return this.waiters.enqueue(
      undefined,
      timeoutMs,
      signal,
      () =>
        new EngineError(EngineErrorCode.TIMEOUT, `Timed out after ${timeoutMs} ms waiting for a free upstream slot`, {
          timeoutMs,
        }),
    );
  }

  private releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.handOver();
    };
  }

  /** Gives the freed permit to the oldest waiter, or returns it. */
  private handOver(): void {
    if (this.waiters.size > 0) this.waiters.serveOldest(this.releaser());
    else this.active--;
  }
}
