import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type {
  ClientCapabilities,
  Notification,
  Progress,
  ServerCapabilities,
  Implementation,
} from '@modelcontextprotocol/sdk/types.js';
import {
  CreateMessageRequestSchema,
  ElicitRequestSchema,
  ErrorCode,
  ListRootsRequestSchema,
  McpError,
} from '@modelcontextprotocol/sdk/types.js';
import type { ServerEntry } from 'src/config/config.schema';
import type { ChildReaper, ReapOptions } from './child-reaper';
import { EngineError, EngineErrorCode } from './engine-error';
import type { EngineLogger } from './engine-logger';
import { MemberLoad, type PlacementKey } from './pool';
import { createSseTransport, createStreamableHttpTransport, type RequestHeaders } from './transports/http.transport';
import { coalesceWrites, StdioTransportHandle } from './transports/stdio.transport';

/** The schema an upstream's result is parsed with: anything with `parse` works for the SDK's `request`. */
export type UpstreamResultSchema = Parameters<Client['request']>[1];

export interface ConnectionOptions {
  logger: EngineLogger;
  reaper: ChildReaper;
  reap: ReapOptions;
  /** Bound on the whole connect (spawn + initialize). */
  connectTimeoutMs: number;
  /** Results above this serialized size are refused (bytes). */
  maxResultSize: number;
  clientInfo: Implementation;
  /** Overrides transport creation (in-process servers over InMemoryTransport in tests, embedders). */
  transportFactory?: (serverId: string, entry: ServerEntry) => Transport;
  /** Gateway-wide cap on requests in flight (bounds the listeners a session may legitimately hold). */
  maxInFlight: number;
  /**
   * Capabilities announced to the upstream at initialize (default none). With `sampling`, `elicitation` or `roots`,
   * the upstream's requests of that kind are answered by the `CallOrigin` of the call in flight (see `CallOrigin`).
   */
  clientCapabilities?: ClientCapabilities;
  /** http/sse: headers asked for each request (the upstream credential: a server's token, or one principal's). */
  requestHeaders?: RequestHeaders;
  /** http/sse: the upstream answered 401 to a request that carried `requestHeaders` (drop the credential). */
  onUnauthorized?: () => void;
}

/**
 * Who caused a call (an MCP client session of the front door). A request or logging notification the upstream sends
 * while calls are in flight on a session carries no link to any of them on the wire (stdio has no request context).
 * The pool keeps it unambiguous instead (`ConnectionPool.place`): calls of an origin that `answers` share a member
 * only with calls of the same `group`, so a server-to-client request goes to that group (see `route`). A member
 * without an answering call answers `roots/list` with an empty list and refuses the other requests.
 */
export interface CallOrigin extends PlacementKey {
  /** The client session: calls of one session may share a member and answer for each other. */
  readonly group: string;
  /**
   * The session can answer server-to-client requests (its client declared `sampling`, `elicitation` or `roots`). An
   * origin that cannot is placed like a REST call.
   */
  readonly answers: boolean;
  /** Answers a server-to-client request (`sampling/createMessage`, `elicitation/create`, `roots/list`). */
  request(method: string, params: Record<string, unknown> | undefined, signal: AbortSignal): Promise<unknown>;
}

export interface CallOptions {
  timeoutMs: number;
  /**
   * Cancels the call. The SDK keeps its listener on the signal for as long as the signal lives: give each call its own
   * (as the REST layer does), not one long-lived signal for many calls.
   */
  signal?: AbortSignal;
  onProgress?: (progress: Progress) => void;
  /** Server-to-client requests that arrive while this call runs go to its group (see `CallOrigin`). */
  origin?: CallOrigin;
}

/** setTimeout overflows above 2^31-1 ms. */
const MAX_TIMER = 2_147_000_000;

/** Transport errors after which an HTTP/SSE session is dead (stdio deaths show as process exit instead). */
const FATAL_NETWORK_ERROR =
  /fetch failed|ECONNREFUSED|ECONNRESET|EPIPE|socket hang up|other side closed|terminated|SSE error|Maximum reconnection attempts/i;

let connectionSeq = 0;

/**
 * One live MCP session to one upstream (one child process for stdio). Multiplexes JSON-RPC requests, forwards
 * notifications, and dies loudly: when the transport closes or fails fatally, every in-flight call is rejected at once
 * (the SDK's Protocol rejects pending requests on close) and `'closed'` is emitted with the reason.
 *
 * Events: `'notification'` (Notification), `'closed'` (reason: string), `'protocol-error'` (Error).
 */
export class McpConnection extends EventEmitter {
  readonly seq = ++connectionSeq;
  private readonly client: Client;
  private transport: Transport | undefined;
  private negotiatedVersion: string | undefined;
  private stdio: StdioTransportHandle | undefined;
  private state: 'new' | 'opening' | 'open' | 'closing' | 'closed' = 'new';
  private closeReason: string | undefined;
  private _inFlight = 0;
  /** performance.now() of the last request start or end: the pool closes idle HTTP sessions after keep-alive. */
  lastUsedAt = performance.now();
  private readonly gone: Promise<void>;
  private resolveGone!: () => void;
  private childPid: number | null = null;
  /** Origins of the calls in flight, with how many calls each (in the order they arrived). */
  private readonly origins = new Map<CallOrigin, number>();
  /** Calls the pool placed here (see `ConnectionPool.place`). */
  readonly load = new MemberLoad();

  constructor(
    readonly serverId: string,
    private readonly entry: ServerEntry,
    private readonly options: ConnectionOptions,
  ) {
    super();
    this.gone = new Promise((resolve) => (this.resolveGone = resolve));
    const capabilities = options.clientCapabilities ?? {};
    this.client = new Client(options.clientInfo, { capabilities });
    this.client.fallbackNotificationHandler = (notification) => {
      const to = this.route();
      this.emit('notification', notification, typeof to === 'string' ? undefined : to);
      return Promise.resolve();
    };
    const forward = (request: { method: string; params?: Record<string, unknown> }, signal: AbortSignal) =>
      this.upstreamRequest(request.method, request.params, signal);
    // The SDK validates what the origin answers against each method's result schema before it goes upstream.
    if (capabilities.sampling)
      this.client.setRequestHandler(CreateMessageRequestSchema, (r, extra) => forward(r, extra.signal) as never);
    if (capabilities.elicitation)
      this.client.setRequestHandler(ElicitRequestSchema, (r, extra) => forward(r, extra.signal) as never);
    if (capabilities.roots)
      this.client.setRequestHandler(ListRootsRequestSchema, (r, extra) => forward(r, extra.signal) as never);
    this.client.onclose = () => this.markClosed(this.closeReason ?? this.describeUnexpectedClose());
    this.client.onerror = (error) => this.onTransportError(error);
  }

  /** Requests in flight on this session; the pool picks the member with the fewest. */
  get inFlight(): number {
    return this._inFlight;
  }

  get isOpen(): boolean {
    return this.state === 'open';
  }

  /** PID of the child process (stdio only, while it lives). */
  get pid(): number | null {
    return this.childPid;
  }

  get serverCapabilities(): ServerCapabilities | undefined {
    return this.client.getServerCapabilities();
  }

  get serverVersion(): Implementation | undefined {
    return this.client.getServerVersion();
  }

  get instructions(): string | undefined {
    return this.client.getInstructions();
  }

  get protocolVersion(): string | undefined {
    return this.negotiatedVersion;
  }

  /**
   * Spawns/connects and runs `initialize` (version and capabilities negotiated by the SDK). Rejects at once if the
   * child exits meanwhile, and after `connectTimeoutMs` at most; on failure everything is torn down (child reaped).
   */
  async open(): Promise<void> {
    if (this.state !== 'new') throw new Error('connection already opened');
    this.state = 'opening';
    try {
      this.transport = this.createTransport();
      this.captureProtocolVersion(this.transport);
      await this.client.connect(this.transport, { timeout: this.options.connectTimeoutMs });
      this.keepNotificationsBeforeResponses(this.transport);
    } catch (e) {
      const reason = this.closeReason ?? `connect failed: ${errorMessage(e)}${this.stderrHint()}`;
      await this.close(reason);
      throw EngineError.unavailable(this.serverId, reason, { cause: errorMessage(e) });
    }
    if (this.state !== 'opening') {
      // Closed between the initialize response and here.
      throw EngineError.unavailable(this.serverId, this.closeReason ?? 'connection closed during initialize');
    }
    this.state = 'open';
  }

  /**
   * Sends one request. Times out after `timeoutMs` (TIMEOUT), follows the caller's `signal` (CANCELLED); in both
   * cases the SDK sends `notifications/cancelled` upstream. Results above `maxResultSize` fail RESULT_TOO_LARGE.
   */
  async request<T>(
    method: string,
    params: Record<string, unknown> | undefined,
    schema: UpstreamResultSchema,
    call: CallOptions,
  ): Promise<T> {
    if (this.state !== 'open') throw EngineError.unavailable(this.serverId, this.closeReason ?? 'connection not open');
    // One timer and at most one abort listener per call, both the SDK's own: its timeout and the caller's signal each
    // send `notifications/cancelled` upstream and reject the call (no AbortController or timer of ours per call).
    const timeoutMs = Math.min(Math.max(call.timeoutMs, 1), MAX_TIMER);
    const started = performance.now();
    this._inFlight++;
    this.lastUsedAt = started;
    const origin = call.origin;
    if (origin) this.origins.set(origin, (this.origins.get(origin) ?? 0) + 1);
    try {
      const result: unknown = await this.client.request({ method, params }, schema, {
        signal: call.signal,
        timeout: timeoutMs,
        onprogress: call.onProgress,
      });
      this.checkSize(result);
      return result as T;
    } catch (e) {
      throw this.toEngineError(e, call, method, started);
    } finally {
      this._inFlight--;
      this.lastUsedAt = performance.now();
      if (origin) {
        const left = (this.origins.get(origin) ?? 1) - 1;
        if (left > 0) this.origins.set(origin, left);
        else this.origins.delete(origin);
      }
    }
  }

  /**
   * The SDK runs notification handlers a microtask late but settles responses at once: progress sent just before a
   * result (in the same read) reached the caller after the result, i.e. never (its handler is gone by then). A
   * response that arrives in the same turn as a notification is settled one macrotask later, after the handlers.
   */
  private keepNotificationsBeforeResponses(transport: Transport): void {
    const dispatch = transport.onmessage;
    if (!dispatch) return;
    let notifiedThisTurn = false;
    transport.onmessage = (message, extra) => {
      const isNotification = 'method' in message && !('id' in message);
      const isResponse = !('method' in message);
      if (isNotification && !notifiedThisTurn) {
        notifiedThisTurn = true;
        setImmediate(() => (notifiedThisTurn = false));
      }
      if (isResponse && notifiedThisTurn) setImmediate(() => dispatch(message, extra));
      else dispatch(message, extra);
    };
  }

  /**
   * Where a server-to-client request or a logging notification goes: the answering group with calls in flight here
   * (placement allows one at most), to its oldest call still in flight: any call of the group reaches the same client
   * session, whose answer comes back by session, not by call, and the first entry of the map costs nothing to find.
   * Without an answering call: the one group whose calls are all that is in flight (its log messages reach it; its
   * refusal names the missing capability). Otherwise `'none'` (nobody to ask) or `'several'` (should not happen:
   * placement keeps answering groups apart; refuse rather than guess).
   */
  private route(): CallOrigin | 'none' | 'several' {
    let answering: CallOrigin | undefined;
    let group: string | undefined;
    let oneGroup = true;
    let calls = 0;
    for (const [origin, n] of this.origins) {
      calls += n;
      if (group === undefined) group = origin.group;
      else if (origin.group !== group) oneGroup = false;
      if (!origin.answers) continue;
      if (answering === undefined) answering = origin;
      else if (answering.group !== origin.group) return 'several';
    }
    if (answering) return answering;
    // calls < inFlight: an origin-less call (REST, catalog refresh) is in flight too; it may be the cause.
    if (group !== undefined && oneGroup && calls === this._inFlight) return this.origins.keys().next().value!;
    return 'none';
  }

  private async upstreamRequest(
    method: string,
    params: Record<string, unknown> | undefined,
    signal: AbortSignal,
  ): Promise<unknown> {
    const to = this.route();
    if (typeof to !== 'string') return to.request(method, params, signal);
    if (method === 'roots/list') return { roots: [] };
    throw new McpError(
      ErrorCode.InvalidRequest,
      to === 'none'
        ? `'${method}' while no call of a client that can answer it is in flight on this connection: there is no client to ask`
        : `'${method}' while calls of several clients are in flight on this connection: the gateway cannot tell which client to ask`,
    );
  }

  /** Sends a notification upstream (e.g. `notifications/roots/list_changed`). */
  async notify(notification: Notification): Promise<void> {
    if (this.state !== 'open') throw EngineError.unavailable(this.serverId, this.closeReason ?? 'connection not open');
    await this.client.notification(notification);
  }

  /**
   * Closes the session and, for stdio, reaps the child (stdin EOF, then SIGTERM, then SIGKILL). Resolves when the
   * child is gone. Idempotent.
   */
  async close(reason = 'closed by the gateway'): Promise<void> {
    if (this.state === 'closing' || this.state === 'closed') return this.gone;
    this.closeReason ??= reason;
    this.state = 'closing';
    const pid = this.childPid;
    await Promise.allSettled([
      this.client.close(),
      pid !== null ? this.options.reaper.reap(pid, this.options.reap) : Promise.resolve(),
    ]);
    this.markClosed(this.closeReason);
    return this.gone;
  }

  /** Resolves once the session is closed and its child (if any) has exited. */
  whenGone(): Promise<void> {
    return this.gone;
  }

  /**
   * The SDK hands the negotiated protocol version to the transport (`setProtocolVersion`), which only the HTTP
   * transports keep; recording it here gives every transport type the same answer.
   */
  private captureProtocolVersion(transport: Transport): void {
    const original = transport.setProtocolVersion?.bind(transport);
    transport.setProtocolVersion = (version: string) => {
      this.negotiatedVersion = version;
      original?.(version);
    };
  }

  private createTransport(): Transport {
    if (this.options.transportFactory) return this.options.transportFactory(this.serverId, this.entry);
    switch (this.entry.type) {
      case 'stdio': {
        const handle = new StdioTransportHandle(this.serverId, this.entry, {
          logger: this.options.logger,
          // A line beyond this would be refused anyway; the margin covers JSON-RPC framing around the result.
          maxBufferSize: this.options.maxResultSize + 1024 * 1024,
        });
        this.stdio = handle;
        const transport = handle.transport;
        const start = transport.start.bind(transport);
        // Track the PID the moment the child exists, before initialize, so that no path can leak it.
        transport.start = async () => {
          await start();
          const pid = handle.pid;
          if (pid !== null) {
            this.childPid = pid;
            const child = handle.child;
            this.options.reaper.track(pid, this.serverId, child);
            // The SDK waits for 'drain' once per write under backpressure: one listener per concurrent request.
            child?.stdin?.setMaxListeners(this.options.maxInFlight + 10);
            if (child?.stdin) coalesceWrites(transport, child.stdin);
            // A child that exits while a grandchild keeps its stdout open never fires 'close': force it.
            child?.once('exit', (code, signal) => {
              this.closeReason ??= `process exited (${signal ?? `code ${code}`})${this.stderrHint()}`;
              setTimeout(() => {
                if (this.state !== 'closed') void this.close(this.closeReason);
              }, 1_000).unref();
            });
          }
        };
        return transport;
      }
      case 'http':
        return createStreamableHttpTransport(
          this.serverId,
          this.entry,
          this.options.requestHeaders,
          this.options.onUnauthorized,
        );
      case 'sse':
        return createSseTransport(this.serverId, this.entry, this.options.requestHeaders, this.options.onUnauthorized);
    }
  }

  private onTransportError(error: Error): void {
    if (/ReadBuffer exceeded/.test(error.message)) {
      this.closeReason ??= `upstream sent a message larger than ${this.options.maxResultSize} bytes`;
      this.emit('protocol-error', error);
      return; // the SDK closes the transport itself
    }
    if (
      this.entry.type !== 'stdio' &&
      FATAL_NETWORK_ERROR.test(`${error.name} ${error.message}`) &&
      this.state === 'open'
    ) {
      this.closeReason ??= `transport failed: ${error.message}`;
      this.options.logger.warn(`[${this.serverId}] ${this.closeReason}`, 'McpConnection');
      void this.close(this.closeReason);
      return;
    }
    // Garbage on stdout, unknown messages: the session survives; count and log.
    this.emit('protocol-error', error);
    this.options.logger.debug(`[${this.serverId}] transport error: ${error.message}`, 'McpConnection');
  }

  private markClosed(reason: string): void {
    if (this.state === 'closed') return;
    const wasOpening = this.state === 'opening';
    this.state = 'closed';
    this.closeReason ??= reason;
    const pid = this.childPid;
    const reaped = pid !== null ? this.options.reaper.reap(pid, this.options.reap) : Promise.resolve();
    void reaped.then(() => {
      this.childPid = null;
      this.resolveGone();
    });
    if (!wasOpening) this.emit('closed', this.closeReason);
  }

  private describeUnexpectedClose(): string {
    return this.entry.type === 'stdio' ? `process exited${this.stderrHint()}` : 'connection closed by the upstream';
  }

  private stderrHint(): string {
    const tail = this.stdio?.lastStderr();
    return tail ? ` (stderr: ${tail})` : '';
  }

  private checkSize(result: unknown): void {
    const limit = this.options.maxResultSize;
    // Cheap pre-check on string length (UTF-16 units <= UTF-8 bytes * 1) before counting bytes.
    const json = JSON.stringify(result);
    if (json.length > limit || Buffer.byteLength(json) > limit) {
      throw new EngineError(
        EngineErrorCode.RESULT_TOO_LARGE,
        `Result from '${this.serverId}' exceeds the limit of ${limit} bytes`,
        { serverId: this.serverId, limit, size: Buffer.byteLength(json) },
      );
    }
  }

  private toEngineError(e: unknown, call: CallOptions, method: string, started: number): EngineError {
    if (e instanceof EngineError) return e;
    if (call.signal?.aborted) {
      return new EngineError(
        EngineErrorCode.CANCELLED,
        `'${method}' on '${this.serverId}' was cancelled by the caller`,
        {
          serverId: this.serverId,
        },
      );
    }
    if (isSdkTimeout(e) && performance.now() - started >= Math.min(call.timeoutMs, MAX_TIMER) - 1) {
      return new EngineError(
        EngineErrorCode.TIMEOUT,
        `'${method}' on '${this.serverId}' timed out after ${call.timeoutMs} ms`,
        {
          serverId: this.serverId,
          timeoutMs: call.timeoutMs,
        },
      );
    }
    if (e instanceof McpError) {
      if (e.code === (ErrorCode.ConnectionClosed as number) || this.state !== 'open') {
        return new EngineError(
          EngineErrorCode.CONNECTION_LOST,
          `Connection to '${this.serverId}' was lost during '${method}': ${this.closeReason ?? e.message}`,
          { serverId: this.serverId, reason: this.closeReason ?? e.message },
          { cause: e },
        );
      }
      return EngineError.upstream(this.serverId, {
        rpcCode: e.code,
        rpcMessage: e.message.replace(/^MCP error -?\d+: /, ''),
        data: e.data,
      });
    }
    if (this.state !== 'open') {
      return new EngineError(
        EngineErrorCode.CONNECTION_LOST,
        `Connection to '${this.serverId}' was lost during '${method}'`,
        {
          serverId: this.serverId,
          reason: this.closeReason ?? errorMessage(e),
        },
      );
    }
    if (e instanceof Error && /Not connected/.test(e.message)) {
      return EngineError.unavailable(this.serverId, 'not connected');
    }
    return new EngineError(
      EngineErrorCode.PROTOCOL_ERROR,
      `Invalid response from '${this.serverId}' to '${method}': ${errorMessage(e).slice(0, 500)}`,
      { serverId: this.serverId },
      { cause: e },
    );
  }
}

/** The SDK's own timeout (`McpError` RequestTimeout, "Request timed out", `data.timeout`), as opposed to an upstream error. */
function isSdkTimeout(e: unknown): boolean {
  return (
    e instanceof McpError &&
    e.code === (ErrorCode.RequestTimeout as number) &&
    /Request timed out/.test(e.message) &&
    typeof (e.data as { timeout?: unknown } | undefined)?.timeout === 'number'
  );
}

export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
