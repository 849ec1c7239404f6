import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import type {
  CallToolResult,
  GetPromptResult,
  Implementation,
  Prompt,
  ReadResourceResult,
  Resource,
  ResourceTemplate,
  ServerCapabilities,
} from '@modelcontextprotocol/sdk/types.js';
import {
  CallToolResultSchema,
  GetPromptResultSchema,
  ReadResourceResultSchema,
  ResultSchema,
} from '@modelcontextprotocol/sdk/types.js';
import type { ServerEntry } from 'src/config/config.schema';
import { isCallerAuth } from 'src/config/upstream-auth.schema';
import { type CatalogKind, ALL_CATALOG_KINDS, Catalog } from './catalog';
import { type CallTarget, type SendCall, CallRunner, requestOptions } from './call-runner';
import { ChildReaper, type ReapOptions } from './child-reaper';
import { type CallerCredential, type UpstreamCaller, UpstreamCredentials } from './credentials/upstream-credentials';
import { OrphanWatchdog } from './orphan-watchdog';
import { EngineError, EngineErrorCode } from './engine-error';
import { type EngineLogger, silentLogger } from './engine-logger';
import type { McpEngineEvents } from './mcp-engine.events';
import {
  type CallOptions,
  type McpEngineOptions,
  type ToolCallOptions,
  type ToolRef,
  defaultTimeout,
} from './mcp-engine.types';
import { ConcurrencyLimiter } from './pool';
import type { UpstreamResultSchema } from './connection';
import type { CrashLoopPolicy } from './restart-policy';
import type { ServerState } from './supervisor';
import { ToolValidator } from './tool-validator';
import { UpstreamFactory } from './upstream-factory';

export type { CallOptions, McpClientConfig, McpEngineOptions, ToolCallOptions, ToolRef } from './mcp-engine.types';

/** A registered server: its pool and, for a server acting on behalf of each caller, per-principal connections. */
interface ServerRecord extends CallTarget {
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
  private readonly catalog: Catalog;
  private readonly runner: CallRunner;
  private readonly factory: UpstreamFactory;
  private readonly validator: ToolValidator;
  private readonly logger: EngineLogger;
  private readonly reap: ReapOptions;
  private readonly exitHook: (() => void) | undefined;
  private readonly credentials: UpstreamCredentials;
  private closed = false;

  constructor(private readonly options: McpEngineOptions) {
    super();
    this.logger = options.logger ?? silentLogger;
    this.watchdog = options.orphanWatchdog ? new OrphanWatchdog() : undefined;
    this.reaper = new ChildReaper(this.watchdog);
    this.reap = options.reap ?? { graceMs: 2_000, killAfterMs: 2_000 };
    const crashLoop: CrashLoopPolicy = options.crashLoop ?? { maxCrashes: 5, windowMs: 60_000 };
    const clientInfo: Implementation = options.clientInfo ?? { name: 'globalmcp', version: '0.1.0' };
    const limiter = new ConcurrencyLimiter(
      options.client.maxConcurrentConnections,
      options.client.pool.queueCapacity,
      (depth, inFlight) => this.emit('queue.depth', { depth, inFlight }),
    );
    this.runner = new CallRunner(limiter, options.client, this);
    this.catalog = new Catalog(
      this.logger,
      (serverId, kinds) => this.emit('catalog.changed', { serverId, kinds }),
      options.catalogCache,
    );
    this.validator = new ToolValidator(this.logger);
    this.credentials = new UpstreamCredentials((event) => this.emit('credential', event));
    this.factory = new UpstreamFactory({
      options,
      logger: this.logger,
      reaper: this.reaper,
      reap: this.reap,
      crashLoop,
      clientInfo,
      credentials: this.credentials,
      catalog: this.catalog,
      events: this,
    });
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
    const supervisor = this.factory.supervisor(id, entry);
    const record: ServerRecord = {
      supervisor,
      principals: this.factory.principalConnections(id, entry),
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
    if (serverId === undefined) return this.catalog.soleTool(name, this.servers);
    this.record(serverId);
    return { serverId, tool: this.catalog.requireTool(serverId, name) };
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
    return this.run<CallToolResult>(
      serverId,
      'tools/call',
      toolName,
      { name: toolName, arguments: args },
      CallToolResultSchema,
      options,
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
    const tool = this.catalog.knownTool(serverId, toolName);
    if (tool && !skipValidation) this.validator.validate(record.supervisor.id, tool, args);
  }

  async readResource(serverId: string, uri: string, options: CallOptions = {}): Promise<ReadResourceResult> {
    return this.run<ReadResourceResult>(serverId, 'resources/read', uri, { uri }, ReadResourceResultSchema, options);
  }

  async getPrompt(
    serverId: string,
    name: string,
    args: Record<string, string> = {},
    options: CallOptions = {},
  ): Promise<GetPromptResult> {
    return this.run<GetPromptResult>(
      serverId,
      'prompts/get',
      name,
      { name, arguments: args },
      GetPromptResultSchema,
      options,
      () => this.catalog.checkPrompt(serverId, name),
    );
  }

  /** Raw JSON-RPC request passthrough (`POST /api/servers/{id}/messages`): the result object as the upstream sent it. */
  async request(
    serverId: string,
    method: string,
    params?: Record<string, unknown>,
    options: CallOptions = {},
  ): Promise<Record<string, unknown>> {
    return this.run<Record<string, unknown>>(serverId, method, undefined, params, ResultSchema, options);
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

  /** One upstream request of a call, run by the `CallRunner` (permit, placement, timeout, events). */
  private run<T>(
    serverId: string,
    method: string,
    target: string | undefined,
    params: Record<string, unknown> | undefined,
    schema: UpstreamResultSchema,
    options: CallOptions,
    precheck?: () => void,
  ): Promise<T> {
    const resolve = (): ServerRecord => {
      this.assertOpen();
      return this.record(serverId);
    };
    const send: SendCall<T> = (conn, timeoutMs) =>
      conn.request<T>(method, params, schema, requestOptions(options, timeoutMs));
    return this.runner.run(serverId, method, target, options, resolve, send, precheck);
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
    return defaultTimeout(entry, this.options.client);
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
