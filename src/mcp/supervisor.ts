import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import type { ServerEntry } from 'src/config/config.schema';
import type { McpConnection } from './connection';
import { errorMessage } from './connection';
import { EngineError } from './engine-error';
import type { EngineLogger } from './engine-logger';
import { ConnectionPool, type PlacementKey } from './pool';
import { type CrashLoopPolicy, CrashWindow, type RetryPolicy, reconnectDelay } from './restart-policy';

export type { CrashLoopPolicy, RetryPolicy } from './restart-policy';
import type { ServerState, ServerStatus, SupervisorEvents } from './supervisor.types';
export type { ServerState, ServerStatus, SupervisorEvents } from './supervisor.types';

interface Slot {
  connection: McpConnection | undefined;
  attempts: number;
  timer: NodeJS.Timeout | undefined;
}

/**
 * Keeps one server's pool alive. Each slot runs: connect -> (closed | failed) -> wait for the child to be gone ->
 * backoff -> connect. Backoff: `initialInterval * multiplier^n` for the first `maxAttempts` attempts, then every
 * `maxInterval` forever. `maxCrashes` crashes within `windowMs` park the server in `error` until a manual restart.
 *
 * Circuit breaker: while no member is open, `acquire()` fails fast with SERVER_UNAVAILABLE (the circuit is open); it
 * closes again by itself when a member reconnects (a reconnect is the half-open probe). Only the first start waits
 * (bounded by the call's timeout) for the first member.
 *
 * Why not cockatiel's breaker: it infers health from call outcomes; here the connection state says it directly and
 * at once, and timeouts of one slow tool must not black out a healthy server.
 */
export class ServerSupervisor extends EventEmitter<SupervisorEvents> {
  readonly pool: ConnectionPool;
  private readonly slots: Slot[];
  private generation = 0;
  private running = false;
  private parked = false;
  private everFailed = false;
  private readonly crashes: CrashWindow;
  private lastError: string | undefined;
  private lastErrorAt: Date | undefined;
  private restarts = 0;
  private connectedAt: Date | undefined;
  /**
   * The upstream's identity from its latest handshake. Kept while no member is open (idle-evicted, reconnecting)
   * so the server does not present itself as someone else in between.
   */
  private lastHandshake: { serverInfo: { name: string; version: string } | undefined; protocolVersion?: string } = {
    serverInfo: undefined,
  };
  private lastStatus: ServerStatus = 'inactive';
  private readyWaiters = new Set<() => void>();
  /** Slots closed for idleness (HTTP/SSE only): not failures, reopened on demand. */
  private readonly dormant = new Set<number>();
  private idleTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly id: string,
    readonly entry: ServerEntry,
    poolSize: number,
    private readonly createConnection: () => McpConnection,
    private readonly retry: RetryPolicy,
    crashLoop: CrashLoopPolicy,
    private readonly logger: EngineLogger,
    /** HTTP/SSE members beyond the first are closed after this long idle, and reopened when load comes back. */
    private readonly keepAliveMs = 0,
    /** Calls that may wait for a member they may share (see `ConnectionPool.place`); beyond it SERVER_UNAVAILABLE. */
    placementQueueCapacity = Number.POSITIVE_INFINITY,
  ) {
    super();
    this.crashes = new CrashWindow(crashLoop);
    this.pool = new ConnectionPool(poolSize, placementQueueCapacity, () => this.emit('placement-wait'), id);
    this.slots = Array.from({ length: poolSize }, () => ({ connection: undefined, attempts: 0, timer: undefined }));
  }

  get status(): ServerStatus {
    if (!this.running || !this.entry.enabled) return this.parked ? 'error' : 'inactive';
    if (this.pool.openCount > 0) return 'active';
    return this.parked || this.everFailed ? 'error' : 'inactive';
  }

  /** Starts every slot (no-op for a disabled server). */
  start(): void {
    if (this.running || !this.entry.enabled) return;
    this.running = true;
    this.parked = false;
    this.everFailed = false;
    this.crashes.clear();
    const gen = ++this.generation;
    this.dormant.clear();
    this.slots.forEach((_, i) => void this.runSlot(i, gen));
    if (this.entry.type !== 'stdio' && this.keepAliveMs > 0 && this.pool.size > 1) {
      this.idleTimer = setInterval(() => this.closeIdle(), Math.max(Math.floor(this.keepAliveMs / 2), 50));
      this.idleTimer.unref();
    }
    this.publishStatus();
  }

  /**
   * The least busy open member; when even that one is busy and some slots sleep after idling, wakes one of them for
   * the next calls.
   */
  pick(): McpConnection | undefined {
    const member = this.pool.pick();
    if (member === undefined || member.inFlight > 0) this.wakeDormant();
    return member;
  }

  /**
   * A member for one call (see `ConnectionPool.place`: the member, or a promise while the call waits for one it may
   * share); wakes a sleeping slot when the call did not get an idle member. Give it back with `pool.release`. Without
   * an open member: SERVER_UNAVAILABLE (circuit open), except during the very first start (waits like `acquire`).
   */
  place(
    origin: PlacementKey | undefined,
    timeoutMs: number,
    signal?: AbortSignal,
  ): McpConnection | Promise<McpConnection> {
    const placed = this.pool.place(origin, timeoutMs, signal);
    if (placed === undefined) {
      this.wakeDormant();
      return this.acquire(timeoutMs, signal).then(
        () => this.pool.place(origin, timeoutMs, signal) ?? Promise.reject(this.unavailableError()),
      );
    }
    if (placed instanceof Promise || placed.inFlight > 0) this.wakeDormant();
    return placed;
  }

  private wakeDormant(): void {
    if (this.dormant.size === 0 || !this.running || this.parked) return;
    // Only a slot whose idle session is fully gone: a slot never holds two sessions.
    const slot = [...this.dormant].find((i) => this.slots[i]!.connection === undefined);
    if (slot !== undefined) {
      this.dormant.delete(slot);
      void this.runSlot(slot, this.generation);
    }
  }

  private closeIdle(): void {
    const now = performance.now();
    // Slot 0 always stays: the server keeps one warm session.
    for (let i = 1; i < this.slots.length; i++) {
      const conn = this.pool.get(i);
      if (conn?.isOpen && conn.inFlight === 0 && conn.load.total === 0 && now - conn.lastUsedAt > this.keepAliveMs) {
        this.dormant.add(i);
        this.pool.set(i, undefined);
        void conn.close('idle for longer than keep-alive');
      }
    }
  }

  /** Stops every slot and resolves when every child is gone. */
  async stop(): Promise<void> {
    this.running = false;
    this.generation++;
    clearInterval(this.idleTimer);
    this.idleTimer = undefined;
    this.dormant.clear();
    for (const slot of this.slots) {
      clearTimeout(slot.timer);
      slot.timer = undefined;
    }
    const members = this.slots.map((s) => s.connection).filter((c): c is McpConnection => c !== undefined);
    await Promise.allSettled(members.map((c) => c.close('server stopped')));
    await Promise.allSettled(members.map((c) => c.whenGone()));
    this.slots.forEach((s, i) => {
      s.connection = undefined;
      this.pool.set(i, undefined);
    });
    this.connectedAt = undefined;
    this.publishStatus();
    this.wakeWaiters();
    this.pool.failWaiters(this.unavailableError());
  }

  /** Manual restart: clears the parked state and crash history, keeps the restart count. */
  async restart(): Promise<void> {
    await this.stop();
    this.parked = false;
    this.lastError = undefined;
    this.start();
  }

  /**
   * The least busy open member, or SERVER_UNAVAILABLE at once while the server is down (circuit open). During the very
   * first start, waits up to `timeoutMs` for the first member.
   */
  async acquire(timeoutMs: number, signal?: AbortSignal): Promise<McpConnection> {
    const member = this.pick();
    if (member) return member;
    if (this.running && !this.everFailed && !this.parked) {
      await this.waitReady(timeoutMs, signal);
      const late = this.pool.pick();
      if (late) return late;
    }
    throw this.unavailableError();
  }

  /** Resolves when a member is open, or when the server is stopped/parked/failed, or after `timeoutMs`. */
  waitReady(timeoutMs: number, signal?: AbortSignal): Promise<void> {
    if (this.pool.openCount > 0 || !this.running) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        this.readyWaiters.delete(done);
        resolve();
      };
      // Capped: Node fires a timer of more than 2^31-1 ms after 1 ms (a server's `timeout` may be set in days).
      const timer = setTimeout(done, Math.min(Math.max(timeoutMs, 1), 2_147_483_647));
      signal?.addEventListener('abort', done, { once: true });
      this.readyWaiters.add(done);
    });
  }

  unavailableError(): EngineError {
    if (!this.entry.enabled) return EngineError.unavailable(this.id, 'server is disabled', { status: 'inactive' });
    if (this.parked)
      return EngineError.unavailable(this.id, `parked after a crash loop: ${this.lastError ?? ''}`, {
        status: 'error',
      });
    if (!this.running) return EngineError.unavailable(this.id, 'server is stopped', { status: 'inactive' });
    return EngineError.unavailable(this.id, `no live connection (${this.lastError ?? 'connecting'})`, {
      status: this.status,
      lastError: this.lastError,
    });
  }

  state(): ServerState {
    const open = this.pool.all().find((c) => c.isOpen);
    if (open) this.rememberHandshake(open);
    const pids: number[] = [];
    for (const c of this.pool.all()) if (c.pid !== null) pids.push(c.pid);
    for (const s of this.slots)
      if (s.connection && !this.pool.all().includes(s.connection) && s.connection.pid !== null)
        pids.push(s.connection.pid);
    return {
      id: this.id,
      type: this.entry.type,
      enabled: this.entry.enabled,
      status: this.status,
      parked: this.parked,
      lastError: this.lastError,
      lastErrorAt: this.lastErrorAt,
      restarts: this.restarts,
      connectedAt: this.connectedAt,
      poolSize: this.pool.size,
      connected: this.pool.openCount,
      inFlight: this.pool.inFlight,
      pids,
      serverInfo: this.lastHandshake.serverInfo,
      protocolVersion: this.lastHandshake.protocolVersion,
    };
  }

  /** A 2026-07-28 upstream need not name itself (`serverInfo` is optional in `server/discover`): its revision counts. */
  private rememberHandshake(connection: McpConnection): void {
    const info = connection.serverVersion;
    if (info || connection.protocolVersion)
      this.lastHandshake = {
        serverInfo: info ? { name: info.name, version: info.version } : undefined,
        protocolVersion: connection.protocolVersion,
      };
  }

  private async runSlot(i: number, gen: number): Promise<void> {
    const slot = this.slots[i]!;
    slot.timer = undefined;
    if (gen !== this.generation || !this.running || this.parked) return;
    const connection = this.createConnection();
    slot.connection = connection;
    try {
      await connection.open();
    } catch (e) {
      await connection.whenGone();
      if (slot.connection === connection) slot.connection = undefined;
      if (gen === this.generation) this.onFailure(i, gen, errorMessage(e));
      return;
    }
    if (gen !== this.generation || !this.running) {
      await connection.close('server stopped');
      return;
    }
    slot.attempts = 0;
    this.pool.set(i, connection);
    this.rememberHandshake(connection);
    this.connectedAt ??= new Date();
    connection.once('closed', (reason: string) => {
      if (this.dormant.has(i)) {
        // Closed for idleness: not a failure; the slot sleeps until load wakes it.
        void connection.whenGone().then(() => {
          if (slot.connection === connection) slot.connection = undefined;
          // A call that had to wait meanwhile could not wake this slot (it still held this session): wake it now.
          if (this.pool.placementDepth > 0) this.wakeDormant();
        });
        return;
      }
      this.pool.set(i, undefined);
      if (this.pool.openCount === 0) {
        this.connectedAt = undefined;
        // Calls waiting for a member fail now, like new calls do while no member is open (circuit open).
        this.pool.failWaiters(EngineError.unavailable(this.id, `no live connection (${reason})`));
      }
      if (gen === this.generation && this.running) {
        this.everFailed = true;
        this.lastError = reason;
      }
      this.emit('member-down', connection, reason);
      this.publishStatus();
      // Respawn only once the old child is gone: the slot never holds two processes.
      void connection.whenGone().then(() => {
        if (slot.connection === connection) slot.connection = undefined;
        if (gen === this.generation && this.running) this.onFailure(i, gen, reason);
      });
    });
    this.publishStatus();
    this.wakeWaiters();
    this.emit('member-up', connection);
  }

  private onFailure(i: number, gen: number, reason: string): void {
    const slot = this.slots[i]!;
    const now = Date.now();
    this.everFailed = true;
    this.lastError = reason;
    this.lastErrorAt = new Date(now);
    const crashes = this.crashes.record(now);
    if (this.crashes.isLoop(crashes)) {
      this.park(`crash loop: ${crashes} failures in ${this.crashes.windowMs} ms; last: ${reason}`);
      return;
    }
    const delayMs = reconnectDelay(this.retry, slot.attempts);
    slot.attempts++;
    this.restarts++;
    this.logger.warn(`[${this.id}] member ${i} down (${reason}); reconnecting in ${delayMs} ms`, 'McpSupervisor');
    this.emit('restart', { slot: i, attempt: slot.attempts, delayMs, reason });
    slot.timer = setTimeout(() => void this.runSlot(i, gen), delayMs);
    this.publishStatus();
    this.wakeWaiters();
  }

  private park(reason: string): void {
    this.parked = true;
    this.lastError = reason;
    this.logger.error(`[${this.id}] parked in error: ${reason}`, 'McpSupervisor');
    this.generation++;
    for (const slot of this.slots) {
      clearTimeout(slot.timer);
      slot.timer = undefined;
      void slot.connection?.close('server parked after a crash loop');
    }
    this.pool.failWaiters(this.unavailableError());
    this.publishStatus();
    this.wakeWaiters();
  }

  private publishStatus(): void {
    const status = this.status;
    if (status === this.lastStatus) return;
    const previous = this.lastStatus;
    this.lastStatus = status;
    this.emit('status', status, previous, this.lastError);
  }

  private wakeWaiters(): void {
    for (const w of [...this.readyWaiters]) w();
  }
}
