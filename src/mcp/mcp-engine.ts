import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import type {
  CallToolResult,
  ClientCapabilities,
  GetPromptResult,
  Implementation,
  Notification,
  Progress,
  Prompt,
  ReadResourceResult,
  Resource,
  ResourceTemplate,
  ServerCapabilities,
  Tool,
} from '@modelcontextprotocol/sdk/types.js';
import {
  CallToolResultSchema,
  GetPromptResultSchema,
  ReadResourceResultSchema,
  ResultSchema,
} from '@modelcontextprotocol/sdk/types.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { AppConfig, ServerEntry } from 'src/config/config.schema';
import { isCallerAuth } from 'src/config/upstream-auth.schema';
import { type CatalogCache, type CatalogKind, ALL_CATALOG_KINDS, Catalog, LIST_CHANGED } from './catalog';
import { ChildReaper, type ReapOptions } from './child-reaper';
import { type CallOrigin, McpConnection } from './connection';
import { type CallerCredential, type UpstreamCaller, UpstreamCredentials } from './credentials/upstream-credentials';
import { PrincipalConnections } from './principal-connections';
import type { RequestHeaders } from './transports/http.transport';
import { OrphanWatchdog } from './orphan-watchdog';
import { EngineError, EngineErrorCode } from './engine-error';
import { type EngineLogger, silentLogger } from './engine-logger';
import type { CallOutcome, McpEngineEvents } from './mcp-engine.events';
import { ConcurrencyLimiter, ConnectionPool } from './pool';
import { type CrashLoopPolicy, type ServerState, ServerSupervisor } from './supervisor';
import { ToolValidator } from './tool-validator';

export type McpClientConfig = AppConfig['mcp']['client'];

export interface McpEngineOptions {
  /** `mcp.client` of the configuration. */
  client: McpClientConfig;
  logger?: EngineLogger;
  /** Defaults: 5 crashes within 60 s park a server. */
  crashLoop?: CrashLoopPolicy;
  /** Defaults: 2 s after stdin EOF before SIGTERM, 2 s more before SIGKILL. */
  reap?: ReapOptions;
  /** Bound on spawn + initialize; defaults to the larger of the server's timeout and `client.defaultTimeout`. */
  connectTimeoutMs?: number;
  /** Shared catalog cache (Redis, later); memory only without it. */
  catalogCache?: CatalogCache;
  clientInfo?: Implementation;
  /** Overrides transport creation (InMemoryTransport in unit tests). */
  transportFactory?: (serverId: string, entry: ServerEntry) => Transport;
  /**
   * Start a companion process that kills the children if the gateway dies by `kill -9` (default false; the Nest
   * module turns it on). Without it, stdin EOF still ends well-behaved servers.
   */
  orphanWatchdog?: boolean;
  /** SIGKILL every tracked child from `process.on('exit')` (default true). */
  killChildrenOnExit?: boolean;
  /**
   * Capabilities announced to every upstream (default none). Declaring `sampling`, `elicitation` or `roots` makes
   * upstreams send those requests; they are answered by the `origin` of the call in flight (`CallOptions.origin`).
   */
  clientCapabilities?: ClientCapabilities;
}

export interface CallOptions {
  /** Wins over the server's `timeout` and `client.defaultTimeout`. Covers the wait in the queue. */
  timeoutMs?: number;
  /** Aborting it cancels the call, upstream included (`notifications/cancelled`). */
  signal?: AbortSignal;
  /** Progress notifications of this call. */
  onProgress?: (progress: Progress) => void;
  /** Who asks: the upstream's sampling/elicitation/roots requests during the call go back to it. */
  origin?: CallOrigin;
  /**
   * The caller's credential for a server that acts on behalf of each caller (`credentialFor`): the call runs on that
   * principal's own connection. Required by such servers; ignored by the others.
   */
  credential?: CallerCredential;
}

export interface ToolCallOptions extends CallOptions {
  /** Skip the ajv check (the caller validated already). */
  skipValidation?: boolean;
}

export interface ToolRef {
  serverId: string;
  tool: Tool;
}

interface ServerRecord {
  supervisor: ServerSupervisor;
  /** Per-principal connections, for a server whose credential depends on the caller (ADR 0007). */
  principals: PrincipalConnections | undefined;
  /** Serializes upsert/remove/restart of this id. */
  chain: Promise<void>;
}

/**
 * The MCP client engine: pooled, supervised sessions to every configured upstream, a catalog of what they offer, and
 * the calls themselves (validated, limited, timed out, cancelled, measured). Knows nothing of HTTP.
 *
 * Errors: every method rejects with `EngineError` (see `EngineErrorCode`). Events: see `McpEngineEvents`.
 */
export class McpEngine extends EventEmitter<McpEngineEvents> {
  private readonly servers = new Map<string, ServerRecord>();
  private readonly reaper: ChildReaper;
  private readonly watchdog: OrphanWatchdog | undefined;
  private readonly limiter: ConcurrencyLimiter;
  private readonly catalog: Catalog;
  private readonly validator: ToolValidator;
  private readonly logger: EngineLogger;
  private readonly crashLoop: CrashLoopPolicy;
  private readonly reap: ReapOptions;
  private readonly clientInfo: Implementation;
  private readonly exitHook: (() => void) | undefined;
  private readonly credentials: UpstreamCredentials;
  private closed = false;

  constructor(private readonly options: McpEngineOptions) {
    super();
    this.logger = options.logger ?? silentLogger;
    this.watchdog = options.orphanWatchdog ? new OrphanWatchdog() : undefined;
    this.reaper = new ChildReaper(this.watchdog);
    this.crashLoop = options.crashLoop ?? { maxCrashes: 5, windowMs: 60_000 };
    this.reap = options.reap ?? { graceMs: 2_000, killAfterMs: 2_000 };
    this.clientInfo = options.clientInfo ?? { name: 'globalmcp', version: '0.1.0' };
    this.limiter = new ConcurrencyLimiter(
      options.client.maxConcurrentConnections,
      options.client.pool.queueCapacity,
      (depth, inFlight) => this.emit('queue.depth', { depth, inFlight }),
    );
    this.catalog = new Catalog(
      this.logger,
      (serverId, kinds) => this.emit('catalog.changed', { serverId, kinds }),
      options.catalogCache,
    );
    this.validator = new ToolValidator(this.logger);
    this.credentials = new UpstreamCredentials((event) => this.emit('credential', event));
    if (options.killChildrenOnExit !== false) {
      this.exitHook = () => this.reaper.killAllSync();
      process.on('exit', this.exitHook);
    }
  }

  // ---------------------------------------------------------------- registry

  /**
   * Registers or replaces a server and starts it (a disabled one stays `inactive`). Resolves once the previous
   * instance (if any) is fully stopped and the new one is starting; use `waitUntilReady` to wait for a connection.
   */
  upsertServer(id: string, entry: ServerEntry): Promise<void> {
    this.assertOpen();
    const existing = this.servers.get(id);
    const previous = existing?.chain ?? Promise.resolve();
    const supervisor = this.createSupervisor(id, entry);
    const record: ServerRecord = {
      supervisor,
      principals: this.principalConnections(id, entry),
      chain: Promise.resolve(),
    };
    record.chain = previous
      .then(() =>
        Promise.all([existing?.supervisor.stop(), existing?.principals?.close()].filter((p) => p !== undefined)),
      )
      .then(() => this.credentials.forget(id))
      .then(() => {
        existing?.supervisor.removeAllListeners();
        if (this.closed) return;
        if (existing) this.catalog.remove(id);
        return this.catalog.hydrate(id).then(() => supervisor.start());
      });
    this.servers.set(id, record);
    return record.chain;
  }

  /** Stops a server (children reaped) and forgets it. */
  async removeServer(id: string): Promise<void> {
    const record = this.record(id);
    this.servers.delete(id);
    await record.chain.catch(() => undefined);
    await Promise.all([record.supervisor.stop(), record.principals?.close() ?? Promise.resolve()]);
    record.supervisor.removeAllListeners();
    this.credentials.forget(id);
    this.catalog.remove(id);
    this.validator.forgetServer(id);
    this.emit('server.removed', { serverId: id });
  }

  /** Restarts every member of a server; clears a crash-loop park. */
  restartServer(id: string): Promise<void> {
    const record = this.record(id);
    record.chain = record.chain.catch(() => undefined).then(() => record.supervisor.restart());
    return record.chain;
  }

  /** Resolves when the server has a live member, is parked/failed, or after `timeoutMs`; returns its state. */
  async waitUntilReady(id: string, timeoutMs: number): Promise<ServerState> {
    const record = this.record(id);
    const started = performance.now();
    await record.chain.catch(() => undefined);
    await record.supervisor.waitReady(Math.max(1, timeoutMs - (performance.now() - started)));
    await this.catalogSettled(id);
    return record.supervisor.state();
  }

  /** What the server announced at initialize (from a live member), undefined while none is connected. */
  getServerCapabilities(id: string): ServerCapabilities | undefined {
    return this.record(id).supervisor.pool.pick()?.serverCapabilities;
  }

  /** The server's `instructions` from initialize (from a live member), if it gave any. */
  getServerInstructions(id: string): string | undefined {
    return this.record(id).supervisor.pool.pick()?.instructions;
  }

  getServerState(id: string): ServerState {
    return this.record(id).supervisor.state();
  }

  listServerStates(): ServerState[] {
    return [...this.servers.values()].map((r) => r.supervisor.state());
  }

  /** PID of the orphan watchdog, when enabled (it is a child of this process but not an MCP server). */
  get watchdogPid(): number | undefined {
    return this.watchdog?.pid;
  }

  /** PIDs of every live child process the engine spawned (optionally of one server). */
  childPids(serverId?: string): number[] {
    return this.reaper.pids(serverId);
  }

  // ---------------------------------------------------------------- catalog

  /** Tools of one server, or of all servers. */
  listTools(serverId?: string): ToolRef[] {
    const ids = serverId !== undefined ? [this.record(serverId) && serverId] : [...this.servers.keys()];
    const out: ToolRef[] = [];
    for (const id of ids) for (const tool of this.catalog.get(id)?.tools ?? []) out.push({ serverId: id, tool });
    return out;
  }

  /** Finds a tool; AMBIGUOUS when several servers offer it and no server id is given, NOT_FOUND when none does. */
  findTool(name: string, serverId?: string): ToolRef {
    if (serverId !== undefined) {
      this.record(serverId);
      const tool = this.catalog.tool(serverId, name);
      if (!tool)
        throw new EngineError(EngineErrorCode.NOT_FOUND, `Tool '${name}' not found on server '${serverId}'`, {
          serverId,
          tool: name,
        });
      return { serverId, tool };
    }
    const hits = this.catalog.findTool(name).filter((h) => this.servers.has(h.serverId));
    if (hits.length === 0)
      throw new EngineError(EngineErrorCode.NOT_FOUND, `Tool '${name}' not found on any server`, { tool: name });
    if (hits.length > 1) {
      throw new EngineError(EngineErrorCode.AMBIGUOUS, `Tool '${name}' exists on several servers; name one`, {
        tool: name,
        servers: hits.map((h) => h.serverId).sort(),
      });
    }
    return hits[0]!;
  }

  listResources(serverId: string): Resource[] {
    this.record(serverId);
    return this.catalog.get(serverId)?.resources ?? [];
  }

  listResourceTemplates(serverId: string): ResourceTemplate[] {
    this.record(serverId);
    return this.catalog.get(serverId)?.resourceTemplates ?? [];
  }

  listPrompts(serverId: string): Prompt[] {
    this.record(serverId);
    return this.catalog.get(serverId)?.prompts ?? [];
  }

  /** Re-reads the catalog of a server from one of its members. */
  async refreshCatalog(serverId: string, kinds: readonly CatalogKind[] = ALL_CATALOG_KINDS): Promise<void> {
    const supervisor = this.record(serverId).supervisor;
    const member = await supervisor.acquire(this.defaultTimeout(supervisor.entry));
    await this.catalog.refresh(serverId, member, kinds, this.defaultTimeout(supervisor.entry));
  }

  // ---------------------------------------------------------------- calls

  /** Whether the server's credential depends on the caller (its calls need `credentialFor`). */
  actsForCallers(serverId: string): boolean {
    return this.record(serverId).principals !== undefined;
  }

  /**
   * The credential a caller's calls to `serverId` carry, for a server that acts on behalf of each caller
   * (`token-exchange`: its token exchanged, cached per principal; `claims-to-headers`: its claims as headers); undefined
   * for the others. UPSTREAM_AUTHORIZATION_REQUIRED when the caller's credential cannot give one, SERVER_UNAVAILABLE
   * when the authorization server cannot be reached. Pass the result as `CallOptions.credential`.
   */
  async credentialFor(serverId: string, caller: UpstreamCaller): Promise<CallerCredential | undefined> {
    const entry = this.record(serverId).supervisor.entry;
    if (!isCallerAuth(entry)) return undefined;
    return this.credentials.forCaller(serverId, entry, caller);
  }

  /**
   * Calls a tool. Arguments are validated against its `inputSchema` first (INVALID_PARAMETERS). The result passes
   * through as the upstream sent it; `isError: true` is a normal result.
   */
  async callTool(
    serverId: string,
    toolName: string,
    args: Record<string, unknown> = {},
    options: ToolCallOptions = {},
  ): Promise<CallToolResult> {
    return this.run(
      serverId,
      'tools/call',
      toolName,
      options,
      (conn, timeoutMs) =>
        conn.request<CallToolResult>('tools/call', { name: toolName, arguments: args }, CallToolResultSchema, {
          timeoutMs,
          signal: options.signal,
          onProgress: options.onProgress,
          origin: options.origin,
        }),
      () => this.checkToolCall(serverId, toolName, args, options.skipValidation === true),
    );
  }

  /**
   * What `callTool` checks before it calls, without calling: NOT_FOUND for a tool the server's known catalog lacks,
   * INVALID_PARAMETERS for arguments its `inputSchema` refuses (nothing to check while the catalog is not known yet:
   * the upstream decides). For callers that must answer a bad request before they accept the call (jobs).
   */
  checkToolCall(serverId: string, toolName: string, args: Record<string, unknown>, skipValidation = false): void {
    const record = this.record(serverId);
    const cat = this.catalog.get(serverId);
    if (!cat?.loaded.includes('tools')) return;
    const tool = cat.tools.find((t) => t.name === toolName);
    if (!tool) {
      throw new EngineError(EngineErrorCode.NOT_FOUND, `Tool '${toolName}' not found on server '${serverId}'`, {
        serverId,
        tool: toolName,
      });
    }
    if (!skipValidation) this.validator.validate(record.supervisor.id, tool, args);
  }

  async readResource(serverId: string, uri: string, options: CallOptions = {}): Promise<ReadResourceResult> {
    return this.run(serverId, 'resources/read', uri, options, (conn, timeoutMs) =>
      conn.request<ReadResourceResult>('resources/read', { uri }, ReadResourceResultSchema, {
        timeoutMs,
        signal: options.signal,
        onProgress: options.onProgress,
        origin: options.origin,
      }),
    );
  }

  async getPrompt(
    serverId: string,
    name: string,
    args: Record<string, string> = {},
    options: CallOptions = {},
  ): Promise<GetPromptResult> {
    return this.run(
      serverId,
      'prompts/get',
      name,
      options,
      (conn, timeoutMs) =>
        conn.request<GetPromptResult>('prompts/get', { name, arguments: args }, GetPromptResultSchema, {
          timeoutMs,
          signal: options.signal,
          onProgress: options.onProgress,
          origin: options.origin,
        }),
      () => {
        const cat = this.catalog.get(serverId);
        if (cat?.loaded.includes('prompts') && !cat.prompts.some((p) => p.name === name)) {
          throw new EngineError(EngineErrorCode.NOT_FOUND, `Prompt '${name}' not found on server '${serverId}'`, {
            serverId,
            prompt: name,
          });
        }
      },
    );
  }

  /** Raw JSON-RPC request passthrough (`POST /api/servers/{id}/messages`): the result object as the upstream sent it. */
  async request(
    serverId: string,
    method: string,
    params?: Record<string, unknown>,
    options: CallOptions = {},
  ): Promise<Record<string, unknown>> {
    return this.run(serverId, method, undefined, options, (conn, timeoutMs) =>
      conn.request<Record<string, unknown>>(method, params, ResultSchema, {
        timeoutMs,
        signal: options.signal,
        onProgress: options.onProgress,
        origin: options.origin,
      }),
    );
  }

  /** Raw JSON-RPC notification to one member of a server. */
  async notify(serverId: string, method: string, params?: Record<string, unknown>): Promise<void> {
    const supervisor = this.record(serverId).supervisor;
    const member = await supervisor.acquire(this.defaultTimeout(supervisor.entry));
    await member.notify({ method, params });
  }

  /**
   * A notification every open member of a server must see, e.g. a client's `notifications/roots/list_changed`: each
   * pooled session of the upstream may have asked for the roots and cached them. Resolves when all were sent (a
   * member that fails to take it is closing anyway).
   */
  async notifyAll(serverId: string, method: string, params?: Record<string, unknown>): Promise<void> {
    const members = this.record(serverId)
      .supervisor.pool.all()
      .filter((m) => m.isOpen);
    await Promise.allSettled(members.map((m) => m.notify({ method, params })));
  }

  /** Stops every server, reaps every child, and refuses further work. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const records = [...this.servers.values()];
    this.servers.clear();
    await Promise.allSettled(records.map((r) => r.chain));
    await Promise.allSettled(records.flatMap((r) => [r.supervisor.stop(), r.principals?.close() ?? Promise.resolve()]));
    records.forEach((r) => r.supervisor.removeAllListeners());
    await this.reaper.waitAll(this.reap.graceMs + this.reap.killAfterMs + 5_000);
    this.reaper.killAllSync();
    await this.watchdog?.stop();
    if (this.exitHook) process.off('exit', this.exitHook);
  }

  // ---------------------------------------------------------------- internals

  private async run<T>(
    serverId: string,
    method: string,
    target: string | undefined,
    options: CallOptions,
    send: (conn: McpConnection, timeoutMs: number) => Promise<T>,
    precheck?: () => void,
  ): Promise<T> {
    const started = performance.now();
    this.emit('call.started', { serverId, method, target });
    let outcome: CallOutcome = 'success';
    let release: (() => void) | undefined;
    let timeoutMs: number | undefined;
    let supervisor: ServerSupervisor | undefined;
    let member: McpConnection | undefined;
    try {
      this.assertOpen();
      const record = this.record(serverId);
      supervisor = record.supervisor;
      precheck?.();
      timeoutMs = options.timeoutMs ?? this.defaultTimeout(supervisor.entry);
      if (options.signal?.aborted)
        throw new EngineError(EngineErrorCode.CANCELLED, `'${method}' on '${serverId}' was cancelled by the caller`);
      if (record.principals) return await this.runAsPrincipal(record.principals, serverId, method, options, send);
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
        const again = this.limiter.acquire(this.left(started, timeoutMs, method, serverId), options.signal, serverId);
        release = typeof again === 'function' ? again : await again;
        left = this.left(started, timeoutMs, method, serverId);
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
      this.emit('call.finished', { serverId, method, target, outcome, durationMs: performance.now() - started });
    }
  }

  /**
   * A call to a server that acts on behalf of each caller: on the caller's own connection (never a pooled one), with
   * its credential, under the gateway-wide permit. The pooled members of such a server only read its catalog.
   */
  private async runAsPrincipal<T>(
    principals: PrincipalConnections,
    serverId: string,
    method: string,
    options: CallOptions,
    send: (conn: McpConnection, timeoutMs: number) => Promise<T>,
  ): Promise<T> {
    const credential = options.credential;
    if (!credential)
      throw new EngineError(
        EngineErrorCode.UPSTREAM_AUTHORIZATION_REQUIRED,
        `Server '${serverId}' acts on behalf of each caller: '${method}' through it needs the caller's credential (tool calls carry it)`,
        { serverId },
      );
    const started = performance.now();
    const timeoutMs = options.timeoutMs ?? this.defaultTimeout(this.record(serverId).supervisor.entry);
    const permit = this.limiter.acquire(timeoutMs, options.signal, serverId);
    const release = typeof permit === 'function' ? permit : await permit;
    let held: { connection: McpConnection; release: () => void } | undefined;
    try {
      held = await principals.acquire(credential.partition, credential.headers);
      const result = await send(held.connection, this.left(started, timeoutMs, method, serverId));
      return result;
    } finally {
      held?.release();
      release();
    }
  }

  private principalConnections(id: string, entry: ServerEntry): PrincipalConnections | undefined {
    if (!isCallerAuth(entry) || !entry.auth) return undefined;
    return new PrincipalConnections({
      serverId: id,
      max: entry.auth.maxConnections,
      idleMs: entry.auth.idleTimeout,
      logger: this.logger,
      create: (headers, partition) =>
        this.createConnection(id, entry, headers, false, () => this.credentials.rejected(id, entry, partition)),
    });
  }

  /** What is left of a call's timeout; TIMEOUT when nothing is. */
  private left(started: number, timeoutMs: number, method: string, serverId: string): number {
    const left = timeoutMs - (performance.now() - started);
    if (left <= 0)
      throw new EngineError(EngineErrorCode.TIMEOUT, `'${method}' on '${serverId}' timed out in the queue`, {
        timeoutMs,
      });
    return left;
  }

  private createSupervisor(id: string, entry: ServerEntry): ServerSupervisor {
    const client = this.options.client;
    const size = ConnectionPool.sizeFor(entry.poolSize, client.pool.coreSize, client.pool.maxSize);
    const supervisor = new ServerSupervisor(
      id,
      entry,
      size,
      () => this.createConnection(id, entry),
      client.retry,
      this.crashLoop,
      this.logger,
      client.pool.keepAlive,
      client.pool.queueCapacity,
    );
    supervisor.on('status', (status, previous, lastError) =>
      this.emit('server.status', { serverId: id, status, previous, lastError }),
    );
    supervisor.on('restart', (info) => this.emit('server.restart', { serverId: id, ...info }));
    supervisor.on('placement-wait', () => this.emit('placement.wait', { serverId: id }));
    supervisor.on('member-up', (conn) => {
      // Discovered on connect, refreshed on every reconnect.
      void this.catalog.refresh(id, conn, ALL_CATALOG_KINDS, this.defaultTimeout(entry));
    });
    return supervisor;
  }

  /**
   * A connection of the server's pool (`headers` unset: the server-wide credential, `catalog` on), or a principal's
   * (its own headers; its notifications do not drive the shared catalog).
   */
  private createConnection(
    id: string,
    entry: ServerEntry,
    headers?: RequestHeaders,
    catalog = true,
    onUnauthorized?: () => void,
  ): McpConnection {
    const conn = new McpConnection(id, entry, {
      logger: this.logger,
      reaper: this.reaper,
      reap: this.reap,
      // Spawn + initialize is not a tool call: a short per-call `timeout` must not make a server unable to start.
      connectTimeoutMs:
        this.options.connectTimeoutMs ?? Math.max(this.defaultTimeout(entry), this.options.client.defaultTimeout),
      maxResultSize: this.options.client.maxResultSize,
      clientInfo: this.clientInfo,
      maxInFlight: this.options.client.maxConcurrentConnections,
      transportFactory: this.options.transportFactory,
      clientCapabilities: this.options.clientCapabilities,
      ...(headers ? { requestHeaders: headers, onUnauthorized } : this.credentials.pooled(id, entry)),
    });
    conn.on('notification', (notification: Notification, origin: CallOrigin | undefined) => {
      this.emit('server.notification', { serverId: id, notification, origin });
      const kinds = LIST_CHANGED[notification.method];
      if (catalog && kinds && conn.isOpen) void this.catalog.refresh(id, conn, kinds, this.defaultTimeout(entry));
    });
    conn.on('protocol-error', (error: Error) =>
      this.logger.debug(`[${id}] protocol error: ${error.message}`, 'McpEngine'),
    );
    return conn;
  }

  /** Waits for the catalog refresh the first connect started, if any (bounded by the refresh's own timeouts). */
  private async catalogSettled(id: string): Promise<void> {
    const supervisor = this.servers.get(id)?.supervisor;
    const member = supervisor?.pool.pick();
    if (!member) return;
    const cat = this.catalog.get(id);
    if (cat && ALL_CATALOG_KINDS.every((k) => cat.loaded.includes(k))) return;
    await this.catalog
      .refresh(id, member, ALL_CATALOG_KINDS, this.defaultTimeout(supervisor!.entry))
      .catch(() => undefined);
  }

  private defaultTimeout(entry: ServerEntry): number {
    return entry.timeout ?? this.options.client.defaultTimeout;
  }

  private record(id: string): ServerRecord {
    const record = this.servers.get(id);
    if (!record) throw EngineError.serverNotFound(id);
    return record;
  }

  private assertOpen(): void {
    if (this.closed) throw new EngineError(EngineErrorCode.SERVER_UNAVAILABLE, 'The MCP engine is closed');
  }
}
export type { CallOrigin } from './connection';
