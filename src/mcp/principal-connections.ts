import { performance } from 'node:perf_hooks';
import type { McpConnection } from './connection';
import { EngineError } from './engine-error';
import type { EngineLogger } from './engine-logger';

/** The part of a connection this pool uses (an `McpConnection`; plain objects in tests). */
export interface PrincipalMember extends Pick<McpConnection, 'isOpen' | 'inFlight' | 'open' | 'close'> {
  once(event: 'closed', listener: (reason: string) => void): unknown;
}

interface Slot<M> {
  readonly partition: string;
  /** The headers the connection sends: the latest credential of its principal (a refreshed token replaces the old). */
  headers: Readonly<Record<string, string>>;
  connection: M;
  opening: Promise<void> | undefined;
  /** Calls handed the connection and not yet released. */
  holds: number;
  lastUsedAt: number;
}

export interface PrincipalConnectionsOptions<M> {
  serverId: string;
  /** Connections kept at most (one per principal). */
  max: number;
  /** A connection without calls for this long is closed. */
  idleMs: number;
  /** Makes a connection whose every HTTP request carries `headers()` (called per request). */
  create: (headers: () => Readonly<Record<string, string>>, partition: string) => M;
  logger: EngineLogger;
  now?: () => number;
}

/**
 * Upstream connections of one server whose credential depends on the caller (`token-exchange`, `claims-to-headers`):
 * one connection per principal (`partition`), never shared with another, so one principal's token or claims can never
 * go out on another's behalf. Bounded by `max`: a new principal takes the place of the least recently used idle one,
 * and is refused (SERVER_UNAVAILABLE) while all are busy. Connections idle for `idleMs` are closed by a sweep.
 */
export class PrincipalConnections<M extends PrincipalMember = McpConnection> {
  private readonly slots = new Map<string, Slot<M>>();
  private readonly sweep: NodeJS.Timeout;
  private readonly now: () => number;
  private closed = false;

  constructor(private readonly options: PrincipalConnectionsOptions<M>) {
    this.now = options.now ?? (() => performance.now());
    const every = Math.max(1_000, Math.min(options.idleMs / 2, 30_000));
    this.sweep = setInterval(() => this.closeIdle(), every);
    this.sweep.unref();
  }

  /** Connections kept (open or opening). */
  get size(): number {
    return this.slots.size;
  }

  /** Partitions with a connection, for tests and status. */
  partitions(): string[] {
    return [...this.slots.keys()];
  }

  /**
   * The principal's connection (opened on first use), with its headers set to `headers`. Call `release` exactly once
   * when the call is done.
   */
  async acquire(
    partition: string,
    headers: Readonly<Record<string, string>>,
  ): Promise<{ connection: M; release: () => void }> {
    if (this.closed) throw EngineError.unavailable(this.options.serverId, 'the server is stopping');
    let slot = this.slots.get(partition);
    if (!slot || (!slot.opening && !slot.connection.isOpen)) {
      if (slot) this.slots.delete(partition);
      slot = this.open(partition, headers);
    }
    slot.headers = headers;
    slot.holds++;
    slot.lastUsedAt = this.now();
    // LRU order: the most recently used last.
    this.slots.delete(partition);
    this.slots.set(partition, slot);
    const held = slot;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      held.holds--;
      held.lastUsedAt = this.now();
    };
    try {
      if (held.opening) await held.opening;
    } catch (error) {
      release();
      throw error;
    }
    return { connection: held.connection, release };
  }

  /** Closes every connection (the server was removed or replaced). */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.sweep);
    const slots = [...this.slots.values()];
    this.slots.clear();
    await Promise.allSettled(slots.map((s) => s.connection.close('server stopped')));
  }

  /** Closes connections without calls for `idleMs`. */
  closeIdle(): void {
    const now = this.now();
    for (const slot of [...this.slots.values()]) {
      if (
        slot.holds === 0 &&
        !slot.opening &&
        slot.connection.inFlight === 0 &&
        now - slot.lastUsedAt >= this.options.idleMs
      )
        this.evict(slot, 'idle');
    }
  }

  private open(partition: string, headers: Readonly<Record<string, string>>): Slot<M> {
    if (this.slots.size >= this.options.max) this.makeRoom();
    const state: { slot?: Slot<M> } = {};
    const connection = this.options.create(() => state.slot?.headers ?? headers, partition);
    const slot: Slot<M> = { partition, headers, connection, opening: undefined, holds: 0, lastUsedAt: this.now() };
    state.slot = slot;
    slot.opening = connection.open().then(
      () => {
        slot.opening = undefined;
      },
      (error: unknown) => {
        slot.opening = undefined;
        if (this.slots.get(partition) === slot) this.slots.delete(partition);
        throw error;
      },
    );
    // Swallowed here, seen by every acquire that awaits it.
    slot.opening.catch(() => undefined);
    connection.once('closed', () => {
      if (this.slots.get(partition) === slot) this.slots.delete(partition);
    });
    this.slots.set(partition, slot);
    return slot;
  }

  /** Closes the least recently used idle connection; SERVER_UNAVAILABLE when every one is in use. */
  private makeRoom(): void {
    for (const slot of this.slots.values()) {
      if (slot.holds === 0 && !slot.opening && slot.connection.inFlight === 0) {
        this.evict(slot, 'room for another principal');
        return;
      }
    }
    throw EngineError.unavailable(
      this.options.serverId,
      `all ${this.options.max} per-principal connections are in use (auth.max-connections)`,
      { reason: 'principal-connections-full', max: this.options.max },
    );
  }

  private evict(slot: Slot<M>, why: string): void {
    this.slots.delete(slot.partition);
    this.options.logger.debug(`[${this.options.serverId}] closing a principal's connection (${why})`, 'McpEngine');
    void slot.connection.close(`closed by the gateway (${why})`);
  }
}
