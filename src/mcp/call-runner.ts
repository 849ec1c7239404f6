import type { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import type { McpConnection, CallOptions as ConnectionCallOptions } from './connection';
import { EngineError, EngineErrorCode } from './engine-error';
import type { CallOutcome, McpEngineEvents } from './mcp-engine.events';
import { type CallOptions, type McpClientConfig, defaultTimeout } from './mcp-engine.types';
import type { ConcurrencyLimiter } from './pool';
import type { PrincipalConnections } from './principal-connections';
import type { ServerSupervisor } from './supervisor';

/** Sends the call's request on the connection it was given, within what is left of its timeout. */
export type SendCall<T> = (conn: McpConnection, timeoutMs: number) => Promise<T>;

/** Where a call to one server may run: its supervised pool, or per-principal connections (ADR 0007). */
export interface CallTarget {
  readonly supervisor: ServerSupervisor;
  readonly principals: PrincipalConnections | undefined;
}

/** What one upstream request of a call is told: the caller's signal, progress and origin, and its time left. */
export function requestOptions(options: CallOptions, timeoutMs: number): ConnectionCallOptions {
  return { timeoutMs, signal: options.signal, onProgress: options.onProgress, origin: options.origin };
}

/**
 * Runs one call against one server: the gateway-wide permit, placement on a pooled member (ADR 0003) or the caller's
 * own connection (ADR 0007), the timeout that covers the queue, and the `call.started`/`call.finished` events every
 * call emits once, whatever ends it. Every failure leaves as an `EngineError`.
 */
export class CallRunner {
  constructor(
    private readonly limiter: ConcurrencyLimiter,
    private readonly client: McpClientConfig,
    private readonly events: EventEmitter<McpEngineEvents>,
  ) {}

  /**
   * `target` is resolved inside the run so an unknown server or a closed engine is a finished call like any other.
   * `precheck` refuses a call before it takes a permit (unknown tool, invalid arguments).
   */
  async run<T>(
    serverId: string,
    method: string,
    target: string | undefined,
    options: CallOptions,
    resolve: () => CallTarget,
    send: SendCall<T>,
    precheck?: () => void,
  ): Promise<T> {
    const started = performance.now();
    this.events.emit('call.started', { serverId, method, target });
    let outcome: CallOutcome = 'success';
    let release: (() => void) | undefined;
    let timeoutMs: number | undefined;
    let supervisor: ServerSupervisor | undefined;
    let member: McpConnection | undefined;
    try {
      const record = resolve();
      supervisor = record.supervisor;
      precheck?.();
      timeoutMs = options.timeoutMs ?? defaultTimeout(supervisor.entry, this.client);
      if (options.signal?.aborted)
        throw new EngineError(EngineErrorCode.CANCELLED, `'${method}' on '${serverId}' was cancelled by the caller`);
      if (record.principals)
        return await this.runAsPrincipal(record, record.principals, serverId, method, options, send);
      // Fail fast (circuit open) before queueing when the server is known to be down; waits only on first start.
      if (supervisor.pool.openCount === 0) await supervisor.acquire(timeoutMs, options.signal);
      const permit = this.limiter.acquire(timeoutMs, options.signal, serverId);
      release = typeof permit === 'function' ? permit : await permit;
      const remaining = timeoutMs - (performance.now() - started);
      if (remaining <= 0)
        throw new EngineError(EngineErrorCode.TIMEOUT, `'${method}' on '${serverId}' timed out in the queue`, {
          timeoutMs,
        });
      // A member the call may share (see ConnectionPool.place), the least busy one when the permit is granted.
      let placed = supervisor.place(options.origin, remaining, options.signal);
      let left = remaining;
      while (placed instanceof Promise) {
        // The wait may be long (a session's call may wait for a human's elicitation): not with a gateway-wide permit
        // held, which would let one busy server stall every other. The member is kept while the permit comes back.
        release();
        release = undefined;
        member = await placed;
        const again = this.limiter.acquire(timeLeft(started, timeoutMs, method, serverId), options.signal, serverId);
        release = typeof again === 'function' ? again : await again;
        left = timeLeft(started, timeoutMs, method, serverId);
        if (member.isOpen) break;
        // It closed while the call waited for the permit; nothing was sent: place the call again.
        supervisor.pool.release(member, options.origin);
        member = undefined;
        placed = supervisor.place(options.origin, left, options.signal);
      }
      member ??= placed as McpConnection; // placed at once (or again); after the break above `member` is set
      const result = await send(member, left);
      if ((result as { isError?: unknown }).isError === true) outcome = 'tool_error';
      return result;
    } catch (e) {
      let error =
        e instanceof EngineError
          ? e
          : new EngineError(EngineErrorCode.PROTOCOL_ERROR, String(e), { serverId }, { cause: e });
      if (error.code === EngineErrorCode.TIMEOUT && timeoutMs !== undefined) {
        // Report the timeout the caller chose, not what was left of it after queueing.
        error = new EngineError(
          EngineErrorCode.TIMEOUT,
          `'${method}' on '${serverId}' timed out after ${timeoutMs} ms`,
          {
            ...error.details,
            serverId,
            timeoutMs,
          },
        );
      }
      outcome = error.code;
      throw error;
    } finally {
      if (member) supervisor!.pool.release(member, options.origin);
      release?.();
      this.events.emit('call.finished', { serverId, method, target, outcome, durationMs: performance.now() - started });
    }
  }

  /**
   * A call to a server that acts on behalf of each caller: on the caller's own connection (never a pooled one), with
   * its credential, under the gateway-wide permit. The pooled members of such a server only read its catalog.
   */
  private async runAsPrincipal<T>(
    target: CallTarget,
    principals: PrincipalConnections,
    serverId: string,
    method: string,
    options: CallOptions,
    send: SendCall<T>,
  ): Promise<T> {
    const credential = options.credential;
    if (!credential)
      throw new EngineError(
        EngineErrorCode.UPSTREAM_AUTHORIZATION_REQUIRED,
        `Server '${serverId}' acts on behalf of each caller: '${method}' through it needs the caller's credential (tool calls carry it)`,
        { serverId },
      );
    const started = performance.now();
    const timeoutMs = options.timeoutMs ?? defaultTimeout(target.supervisor.entry, this.client);
    const permit = this.limiter.acquire(timeoutMs, options.signal, serverId);
    const release = typeof permit === 'function' ? permit : await permit;
    let held: { connection: McpConnection; release: () => void } | undefined;
    try {
      held = await principals.acquire(credential.partition, credential.headers);
      return await send(held.connection, timeLeft(started, timeoutMs, method, serverId));
    } finally {
      held?.release();
      release();
    }
  }
}

/** What is left of a call's timeout; TIMEOUT when nothing is. */
function timeLeft(started: number, timeoutMs: number, method: string, serverId: string): number {
  const left = timeoutMs - (performance.now() - started);
  if (left <= 0)
    throw new EngineError(EngineErrorCode.TIMEOUT, `'${method}' on '${serverId}' timed out in the queue`, {
      timeoutMs,
    });
  return left;
}
