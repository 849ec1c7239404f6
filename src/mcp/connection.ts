import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { Notification, ServerCapabilities, Implementation } from '@modelcontextprotocol/sdk/types.js';
import {
  CreateMessageRequestSchema,
  ElicitRequestSchema,
  ErrorCode,
  ListRootsRequestSchema,
  McpError,
} from '@modelcontextprotocol/sdk/types.js';
import type { ServerEntry } from 'src/config/config.schema';
import { type CallOptions, type CallOrigin, routeOf } from './call-origin';
import type { ConnectionOptions, UpstreamResultSchema } from './connection.types';
import { checkSize, errorMessage, FATAL_NETWORK_ERROR, MAX_TIMER, toEngineError } from './connection-errors';
import { EngineError } from './engine-error';
import { ModernSession } from './modern-session';
import { MemberLoad } from './pool';
import { createSseTransport, createStreamableHttpTransport } from './transports/http.transport';
import { captureProtocolVersion, keepNotificationsBeforeResponses } from './transports/sdk1-hooks';
import { coalesceWrites, StdioTransportHandle } from './transports/stdio.transport';

export type { CallOptions, CallOrigin } from './call-origin';
export { errorMessage } from './connection-errors';

export type { ConnectionOptions, UpstreamResultSchema } from './connection.types';

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
  /** The 2026-07-28 session of an upstream that offered it; SDK 1's `client` stays unused then. */
  private modern: ModernSession | undefined;
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

  /** A 2026-07-28 member: what the upstream asks or logs is tied to its call, so any call may share it (pool). */
  get routesByCall(): boolean {
    return this.modern !== undefined;
  }

  /** PID of the child process (stdio only, while it lives). */
  get pid(): number | null {
    return this.childPid;
  }

  get serverCapabilities(): ServerCapabilities | undefined {
    return this.modern?.serverCapabilities ?? this.client.getServerCapabilities();
  }

  get serverVersion(): Implementation | undefined {
    return this.modern ? this.modern.serverVersion : this.client.getServerVersion();
  }

  get instructions(): string | undefined {
    return this.modern ? this.modern.instructions : this.client.getInstructions();
  }

  /** The revision negotiated: 2026-07-28 (`server/discover`) or a 2025 one (`initialize`). */
  get protocolVersion(): string | undefined {
    return this.modern ? this.modern.protocolVersion : this.negotiatedVersion;
  }

  /**
   * Spawns/connects and negotiates: an `http` upstream is asked `server/discover` first (2026-07-28, stateless: see
   * `ModernSession`); any other, or one that does not offer it, runs `initialize` (version and capabilities negotiated
   * by SDK 1). Rejects at once if the child exits meanwhile, and after `connectTimeoutMs` at most (the probe takes at
   * most half of it); on failure everything is torn down (child reaped).
   */
  async open(): Promise<void> {
    if (this.state !== 'new') throw new Error('connection already opened');
    this.state = 'opening';
    const started = performance.now();
    try {
      this.modern = await this.openModern();
      if (this.modern) {
        if (this.state !== 'opening') await this.modern.close();
      } else {
        const left = this.options.connectTimeoutMs - (performance.now() - started);
        this.transport = this.createTransport();
        captureProtocolVersion(this.transport, (version) => (this.negotiatedVersion = version));
        await this.client.connect(this.transport, { timeout: Math.max(left, 1) });
        keepNotificationsBeforeResponses(this.transport);
      }
    } catch (e) {
      const reason = this.closeReason ?? `connect failed: ${errorMessage(e)}${this.stderrHint()}`;
      await this.close(reason);
      throw EngineError.unavailable(this.serverId, reason, { cause: errorMessage(e) });
    }
    if (this.state !== 'opening') {
      // Closed between the initialize (or discover) response and here.
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
      const result: unknown = this.modern
        ? await this.modern.request(method, params, schema as never, { ...call, timeoutMs })
        : await this.client.request({ method, params }, schema, {
            signal: call.signal,
            timeout: timeoutMs,
            onprogress: call.onProgress,
          });
      checkSize(this.serverId, result, this.options.maxResultSize);
      return result as T;
    } catch (e) {
      throw toEngineError(e, {
        serverId: this.serverId,
        method,
        timeoutMs: call.timeoutMs,
        signal: call.signal,
        started,
        now: performance.now(),
        open: this.state === 'open',
        closeReason: this.closeReason,
      });
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

  /** Where a server-to-client request or a logging notification goes (see `routeOf`). */
  private route(): CallOrigin | 'none' | 'several' {
    return routeOf(this.origins, this._inFlight);
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
    if (this.modern) await this.modern.notify(notification);
    else await this.client.notification(notification);
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
      this.modern ? this.modern.close() : this.client.close(),
      pid !== null ? this.options.reaper.reap(pid, this.options.reap) : Promise.resolve(),
    ]);
    this.markClosed(this.closeReason);
    return this.gone;
  }

  /** Resolves once the session is closed and its child (if any) has exited. */
  whenGone(): Promise<void> {
    return this.gone;
  }

  /** The 2026-07-28 session, when the upstream is `http` and offers it (see `ModernSession`). */
  private async openModern(): Promise<ModernSession | undefined> {
    if (this.entry.type !== 'http' || this.options.transportFactory || this.options.modernUpstreams === false) return;
    return ModernSession.open({
      serverId: this.serverId,
      entry: this.entry,
      clientInfo: this.options.clientInfo,
      capabilities: this.options.clientCapabilities ?? {},
      timeoutMs: Math.max(Math.floor(this.options.connectTimeoutMs / 2), 1),
      requestHeaders: this.options.requestHeaders,
      onUnauthorized: this.options.onUnauthorized,
      onNotification: (notification, call) => {
        // A message on a call's response stream is that call's; one outside any call is routed as on 2025.
        const to = call ? call.origin : this.route();
        this.emit('notification', notification, typeof to === 'string' ? undefined : to);
      },
      onError: (error) => this.onTransportError(error),
      onListenEnded: (how) => {
        if (this.state !== 'open') return;
        this.closeReason ??= `the upstream ended its subscriptions/listen stream (${how === 'graceful' ? 'shutting down' : 'connection lost'})`;
        this.options.logger.warn(`[${this.serverId}] ${this.closeReason}`, 'McpConnection');
        void this.close(this.closeReason);
      },
    });
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
}
