import { Inject, Injectable, Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { SSEServerTransport } from '@modelcontextprotocol/sdk/server/sse.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { AjvJsonSchemaValidator } from '@modelcontextprotocol/sdk/validation/ajv-provider.js';
import {
  CallToolRequestSchema,
  CompleteRequestSchema,
  ErrorCode as RpcCode,
  GetPromptRequestSchema,
  isInitializeRequest,
  isJSONRPCNotification,
  isJSONRPCRequest,
  JSONRPCMessageSchema,
  ListPromptsRequestSchema,
  ListResourcesRequestSchema,
  ListResourceTemplatesRequestSchema,
  ListToolsRequestSchema,
  LoggingLevelSchema,
  McpError,
  ReadResourceRequestSchema,
  SetLevelRequestSchema,
  SubscribeRequestSchema,
  UnsubscribeRequestSchema,
  type CallToolResult,
  type JSONRPCMessage,
  type JSONRPCRequest,
  type LoggingLevel,
  type Notification,
  type RequestId,
  type ServerCapabilities,
} from '@modelcontextprotocol/sdk/types.js';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { randomUUID } from 'node:crypto';
import { insufficientScope } from 'src/auth/auth-errors';
import type { Principal } from 'src/auth/principal';
import { missingScopes } from 'src/auth/scopes';
import { AppException } from 'src/common/errors/app.exception';
import { ErrorCode } from 'src/common/errors/error-code';
import { REQUEST_ID_HEADER } from 'src/common/http/request-id';
import { APP_CONFIG } from 'src/config/config.module';
import type { AppConfig } from 'src/config/config.schema';
import { readBuildInfo } from 'src/common/build-info';
import type { CallOrigin } from 'src/mcp/mcp-engine';
import { McpEngine } from 'src/mcp/mcp-engine';
import { ServersService } from 'src/servers/servers.service';
import { ToolsService } from 'src/tools/tools.service';
import { AGGREGATED, CatalogView } from './catalog-view';
import { ClientCalls } from './client-calls';
import { toMcpError } from './mcp-errors';
import { McpEndpointMetrics } from './mcp-endpoint.metrics';
import { type BusMessage, McpSessionBus } from './mcp-session.bus';
import { type McpSession, McpSessionStore } from './mcp-session.store';

/** One HTTP request's (or one legacy SSE connection's) link to its MCP client. */
interface ClientScope {
  /** Whether the answer is an event stream (progress, log messages and server-to-client requests can go on it). */
  streaming: boolean;
  /** The session id, or a one-off id for a request without a session. */
  sessionId: string;
  session: McpSession | undefined;
  principal: Principal | undefined;
  view: CatalogView;
  /** Fires when the client hangs up (its calls are cancelled upstream). */
  signal: AbortSignal;
  /** To the client: on the stream of `relatedRequestId`, or the session's standalone stream without one. */
  send(message: JSONRPCMessage, relatedRequestId?: RequestId): Promise<void>;
}

/** A standalone stream (Streamable HTTP GET, or a legacy SSE connection) open on this replica. */
interface OpenStream {
  scope: ClientScope;
  close(): void;
}

const LIST_CHANGED_OF: Record<string, string> = {
  tools: 'notifications/tools/list_changed',
  resources: 'notifications/resources/list_changed',
  resourceTemplates: 'notifications/resources/list_changed',
  prompts: 'notifications/prompts/list_changed',
};

const LOG_ORDER: readonly LoggingLevel[] = LoggingLevelSchema.options;

/**
 * One validator for every per-request `Server`: without it each `Server` builds its own Ajv instance (measured: the
 * largest cost of a front-door request). Only `elicitInput` of the SDK uses it, which the gateway does not call.
 */
const SHARED_VALIDATOR = new AjvJsonSchemaValidator();

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);

/** The capability a server-to-client request needs from the client. */
const CLIENT_CAPABILITY_FOR: Record<string, 'sampling' | 'elicitation' | 'roots'> = {
  'sampling/createMessage': 'sampling',
  'elicitation/create': 'elicitation',
  'roots/list': 'roots',
};

/**
 * The MCP front door: `/mcp` (every server the caller may use, namespaced) and `/mcp/{server_id}` (one server,
 * unchanged) over Streamable HTTP, and the legacy HTTP+SSE pair `/sse` + `/messages`.
 *
 * Sessions are stateless per request (ADR 0003): each HTTP request gets a fresh SDK `Server` and transport built
 * from the session record in Redis, so any replica serves any request. What must cross replicas (a client's answer
 * to a sampling/elicitation/roots request, a cancellation, resource updates, session end) goes through the session
 * bus. Tool calls go through ToolsService: validated, recorded (`channel: "mcp"`), measured like REST.
 */
@Injectable()
export class McpFrontDoorService implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('McpFrontDoor');
  private readonly calls = new ClientCalls();
  /** Standalone streams by session id. */
  private readonly streams = new Map<string, OpenStream>();
  /** Legacy SSE transports by session id. */
  private readonly legacy = new Map<string, SSEServerTransport>();
  private readonly separator: string;
  private readonly version = readBuildInfo().version;
  private readonly clientTimeoutMs: number;
  private readonly endpoint: AppConfig['mcp']['endpoint'];
  private readonly loopbackBind: boolean;
  /**
   * The engine announces sampling, elicitation and roots to upstreams (McpModule): without it no upstream asks a
   * client anything, and a session's calls need no connection of their own (see `ClientOrigin`).
   */
  readonly forwardsClientRequests: boolean;

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly engine: McpEngine,
    private readonly tools: ToolsService,
    private readonly servers: ServersService,
    private readonly store: McpSessionStore,
    private readonly bus: McpSessionBus,
    private readonly metrics: McpEndpointMetrics,
  ) {
    this.endpoint = config.mcp.endpoint;
    this.forwardsClientRequests = config.mcp.endpoint.forwardClientCapabilities;
    this.separator = config.mcp.endpoint.separator;
    this.clientTimeoutMs = config.mcp.client.defaultTimeout;
    const address = config.server.address ?? '0.0.0.0';
    this.loopbackBind = address === 'localhost' || address === '::1' || address.startsWith('127.');
  }

  onModuleInit(): void {
    this.bus.onMessage((message) => this.onBusMessage(message));
    this.engine.on('catalog.changed', ({ serverId, kinds }) => {
      const methods = new Set(kinds.map((k) => LIST_CHANGED_OF[k]).filter((m): m is string => m !== undefined));
      for (const method of methods) this.broadcast(serverId, { method });
    });
    // A server leaving the registry changes what the aggregated view offers.
    this.engine.on('server.removed', ({ serverId }) => {
      for (const method of new Set(Object.values(LIST_CHANGED_OF))) this.broadcast(serverId, { method });
    });
    this.engine.on('server.notification', ({ serverId, notification, origin }) => {
      if (notification.method === 'notifications/message') {
        if (origin instanceof ClientOrigin)
          void this.forwardLog(
            origin.scope.streaming ? origin.scope : (this.streams.get(origin.scope.sessionId)?.scope ?? origin.scope),
            serverId,
            notification,
            origin.scope.streaming ? origin.requestId : undefined,
          );
        else this.broadcastLog(serverId, notification);
      } else if (notification.method === 'notifications/resources/updated') {
        void this.bus.publish({ kind: 'notify', serverId, notification }).catch(() => undefined);
      }
    });
    this.engine.on('placement.wait', ({ serverId }) => this.metrics.placementWait(serverId));
    this.metrics.sessions(() => this.store.count());
  }

  onApplicationShutdown(): void {
    for (const stream of this.streams.values()) stream.close();
    this.streams.clear();
  }

  // ------------------------------------------------------------------ Streamable HTTP

  /** POST, GET or DELETE on `/mcp` (`view` = `*`) or `/mcp/{server_id}`. */
  async handle(request: FastifyRequest, reply: FastifyReply, view: string): Promise<void> {
    this.checkHostAndOrigin(request);
    if (view !== AGGREGATED) this.servers.find(view);
    const principal = request.principal;
    const headerId = single(request.headers['mcp-session-id']);

    if (request.method === 'DELETE') return this.endSession(reply, headerId, principal, view);
    checkAccept(request);

    const messages = request.method === 'POST' ? parseMessages(request.body) : [];
    const init = messages.find((m) => isInitializeRequest(m));
    let session: McpSession | undefined;
    if (init) {
      session = await this.openSession(principal, view, init.params);
    } else if (headerId !== undefined) {
      session = await this.findSession(headerId, principal, view);
    } else if (request.method === 'GET') {
      throw AppException.invalid('GET /mcp opens the stream of a session: send Mcp-Session-Id');
    }
    this.requireScopes(principal, messages);
    for (const m of messages) if (isJSONRPCRequest(m)) this.metrics.message(m.method);
    const sessionId = session?.id ?? `stateless-${randomUUID()}`;

    if (request.method === 'POST' && !messages.some((m) => isJSONRPCRequest(m))) {
      // Answers and notifications only: routed here (they may be for a call on another replica).
      await this.deliver(sessionId, view, messages);
      reply.hijack();
      reply.raw.writeHead(202, { [REQUEST_ID_HEADER]: String(request.id) }).end();
      return;
    }

    const streaming = messages.some((m) => isJSONRPCRequest(m) && mayStream(m, session));
    // A plain JSON answer when nothing but the result can come back (cheaper than an event stream per request).
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: undefined,
      enableJsonResponse: !streaming,
    });
    const hangUp = new AbortController();
    const scope: ClientScope = {
      streaming,
      sessionId,
      session,
      principal,
      view: new CatalogView(this.engine, view, principal?.servers ?? undefined, this.separator),
      signal: hangUp.signal,
      send: (message, relatedRequestId) => transport.send(message, { relatedRequestId }),
    };
    const server = this.buildServer(scope);
    await server.connect(transport);
    reply.hijack();
    const raw = reply.raw;
    raw.setHeader(REQUEST_ID_HEADER, String(request.id));
    if (session) raw.setHeader('mcp-session-id', session.id);
    let stream: OpenStream | undefined;
    raw.once('close', () => {
      if (!raw.writableFinished) hangUp.abort(new Error('client disconnected'));
      if (stream && this.streams.get(sessionId) === stream) this.streams.delete(sessionId);
      if (stream) this.metrics.streamClosed();
      void server.close().catch(() => undefined);
    });
    if (request.method === 'GET' && session) {
      // One standalone stream per session on this replica: a new GET replaces the old one.
      this.streams.get(sessionId)?.close();
      // A client that only listens sends no request: its open stream keeps the session alive.
      const keepAlive = setInterval(
        () => void this.store.touch(sessionId).catch(() => undefined),
        Math.max(1000, this.endpoint.sessionIdleTimeout / 2),
      );
      keepAlive.unref();
      raw.once('close', () => clearInterval(keepAlive));
      stream = { scope, close: () => raw.destroy() };
      this.streams.set(sessionId, stream);
      this.metrics.streamOpened();
    }
    await transport.handleRequest(request.raw, raw, request.body);
  }

  // ------------------------------------------------------------------ legacy HTTP+SSE

  /** `GET /sse`: opens a legacy session (aggregated view); the client POSTs to `/messages?sessionId=`. */
  async openLegacy(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    this.checkHostAndOrigin(request);
    const principal = request.principal;
    const transport = new SSEServerTransport('/messages', reply.raw);
    const session: McpSession = {
      id: transport.sessionId,
      principalId: principal?.id ?? 'anonymous',
      view: AGGREGATED,
      protocolVersion: '',
      clientInfo: null,
      clientCapabilities: {},
      logLevel: null,
      subscriptions: [],
      createdAt: Date.now(),
    };
    if (!(await this.store.create(session))) throw tooManySessions(this.endpoint.maxSessions);
    const hangUp = new AbortController();
    const scope: ClientScope = {
      streaming: true,
      sessionId: session.id,
      session,
      principal,
      view: new CatalogView(this.engine, AGGREGATED, principal?.servers ?? undefined, this.separator),
      signal: hangUp.signal,
      send: (message) => transport.send(message),
    };
    const server = this.buildServer(scope);
    reply.hijack();
    reply.raw.setHeader(REQUEST_ID_HEADER, String(request.id));
    await server.connect(transport);
    const dispatch = transport.onmessage;
    transport.onmessage = (message, extra) => {
      if (isInitializeRequest(message)) {
        session.clientCapabilities = message.params.capabilities;
        session.clientInfo = message.params.clientInfo;
        session.protocolVersion = message.params.protocolVersion;
        void this.store.update(session).catch(() => undefined);
      }
      if (isJSONRPCRequest(message)) {
        this.metrics.message(message.method);
        dispatch?.(message, extra);
        return;
      }
      void this.deliver(session.id, AGGREGATED, [message]).then(() => {
        if (isJSONRPCNotification(message)) dispatch?.(message, extra);
      });
    };
    const stream: OpenStream = { scope, close: () => reply.raw.destroy() };
    this.legacy.set(session.id, transport);
    this.streams.set(session.id, stream);
    this.metrics.streamOpened();
    reply.raw.once('close', () => {
      hangUp.abort(new Error('client disconnected'));
      this.legacy.delete(session.id);
      if (this.streams.get(session.id) === stream) this.streams.delete(session.id);
      this.metrics.streamClosed();
      void server.close().catch(() => undefined);
      void this.store.delete(session.id).catch(() => undefined);
    });
  }

  /** `POST /messages?sessionId=`: to the replica holding the session's SSE stream. */
  async postLegacy(request: FastifyRequest, reply: FastifyReply, sessionId: string | undefined): Promise<void> {
    this.checkHostAndOrigin(request);
    if (!sessionId) throw AppException.invalid('sessionId query parameter is required');
    const principal = request.principal;
    await this.findSession(sessionId, principal, AGGREGATED);
    const messages = parseMessages(request.body);
    this.requireScopes(principal, messages);
    const transport = this.legacy.get(sessionId);
    reply.hijack();
    if (transport) {
      await transport.handlePostMessage(request.raw, reply.raw, request.body);
      return;
    }
    for (const message of messages) await this.bus.publish({ kind: 'legacy', sessionId, message });
    reply.raw.writeHead(202, { [REQUEST_ID_HEADER]: String(request.id) }).end('Accepted');
  }

  // ------------------------------------------------------------------ the MCP server of one scope

  private buildServer(scope: ClientScope): Server {
    const view = scope.view;
    const capabilities: ServerCapabilities = view.capabilities();
    // One server is presented as itself (its name, version and instructions); the aggregate as the gateway.
    const upstream = view.aggregated ? undefined : this.engine.getServerState(view.view).serverInfo;
    const server = new Server(
      upstream ? { name: upstream.name, version: upstream.version } : { name: 'globalmcp', version: this.version },
      {
        capabilities,
        jsonSchemaValidator: SHARED_VALIDATOR,
        instructions: view.aggregated
          ? `Tools and prompts of every server you may use, named <server_id>${this.separator}<name>.`
          : this.engine.getServerInstructions(view.view),
      },
    );
    server.onerror = (error) => this.logger.debug(`MCP session ${scope.sessionId}: ${error.message}`);

    server.setRequestHandler(ListToolsRequestSchema, () => ({ tools: view.tools() }));
    server.setRequestHandler(CallToolRequestSchema, async (request, extra) => {
      const target = view.resolveName(request.params.name, 'tool');
      const tracked = this.calls.track(scope.sessionId, extra.requestId, AbortSignal.any([extra.signal, scope.signal]));
      const token = request.params._meta?.progressToken;
      // Progress goes out before the result: the transport closes the call's stream once the result is written.
      const progressSent: Promise<void>[] = [];
      try {
        const result = await this.tools.execute({
          name: target.name,
          serverId: target.serverId,
          parameters: request.params.arguments ?? {},
          allowedServers: scope.principal?.servers ?? undefined,
          principal: scope.principal?.id,
          signal: tracked.signal,
          channel: 'mcp',
          origin: new ClientOrigin(this, scope, extra.requestId),
          onProgress:
            token === undefined
              ? undefined
              : (progress) => {
                  progressSent.push(
                    extra
                      .sendNotification({
                        method: 'notifications/progress',
                        params: { ...progress, progressToken: token },
                      })
                      .catch(() => undefined),
                  );
                },
        });
        if (progressSent.length > 0) {
          await Promise.all(progressSent);
          // SDK clients settle a response at once but run notification handlers a microtask later: a result read in
          // the same chunk as the last progress would win and drop it (seen with the legacy SSE client). One turn
          // apart, they leave in separate writes.
          await new Promise<void>((resolve) => setImmediate(resolve));
        }
        return {
          content: result.result.content as CallToolResult['content'],
          ...(result.result.structured_content !== undefined
            ? { structuredContent: result.result.structured_content }
            : {}),
          ...(result.result.is_error ? { isError: true } : {}),
        };
      } catch (error) {
        throw toMcpError(error, 'tool');
      } finally {
        tracked.done();
      }
    });

    if (capabilities.resources) {
      server.setRequestHandler(ListResourcesRequestSchema, () => ({ resources: view.resources() }));
      server.setRequestHandler(ListResourceTemplatesRequestSchema, () => ({
        resourceTemplates: view.resourceTemplates(),
      }));
      server.setRequestHandler(ReadResourceRequestSchema, async (request, extra) => {
        const target = view.resolveUri(request.params.uri);
        return this.upstream(scope, extra.requestId, extra.signal, 'resource', () =>
          this.engine.readResource(target.serverId, target.name, {
            signal: AbortSignal.any([extra.signal, scope.signal]),
            origin: new ClientOrigin(this, scope, extra.requestId),
          }),
        );
      });
      server.setRequestHandler(SubscribeRequestSchema, async (request, extra) => {
        const target = view.resolveUri(request.params.uri);
        await this.upstream(scope, extra.requestId, extra.signal, 'resource', () =>
          this.engine.request(
            target.serverId,
            'resources/subscribe',
            { uri: target.name },
            { origin: new ClientOrigin(this, scope, extra.requestId) },
          ),
        );
        await this.editSession(scope, (s) => {
          if (!s.subscriptions.includes(target.name)) s.subscriptions.push(target.name);
        });
        return {};
      });
      server.setRequestHandler(UnsubscribeRequestSchema, async (request) => {
        // The upstream subscription stays: other sessions may hold the same one; updates are filtered per session.
        await this.editSession(scope, (s) => {
          s.subscriptions = s.subscriptions.filter((uri) => uri !== request.params.uri);
        });
        return {};
      });
    }

    if (capabilities.prompts) {
      server.setRequestHandler(ListPromptsRequestSchema, () => ({ prompts: view.prompts() }));
      server.setRequestHandler(GetPromptRequestSchema, async (request, extra) => {
        const target = view.resolveName(request.params.name, 'prompt');
        return this.upstream(scope, extra.requestId, extra.signal, 'prompt', () =>
          this.engine.getPrompt(target.serverId, target.name, request.params.arguments ?? {}, {
            signal: AbortSignal.any([extra.signal, scope.signal]),
            origin: new ClientOrigin(this, scope, extra.requestId),
          }),
        );
      });
    }

    if (capabilities.completions) {
      server.setRequestHandler(CompleteRequestSchema, async (request, extra) => {
        const ref = request.params.ref;
        const target = ref.type === 'ref/prompt' ? view.resolveName(ref.name, 'prompt') : view.resolveUri(ref.uri);
        const upstreamRef = ref.type === 'ref/prompt' ? { ...ref, name: target.name } : ref;
        const result = await this.upstream(scope, extra.requestId, extra.signal, 'request', () =>
          this.engine.request(
            target.serverId,
            'completion/complete',
            { ...request.params, ref: upstreamRef },
            // With the session's origin it may run beside the session's own calls (see `CallOrigin`).
            {
              signal: AbortSignal.any([extra.signal, scope.signal]),
              origin: new ClientOrigin(this, scope, extra.requestId),
            },
          ),
        );
        return result;
      });
    }

    server.setRequestHandler(SetLevelRequestSchema, async (request) => {
      // Upstream log levels are per connection, shared by every session: filter here, per session, instead.
      await this.editSession(scope, (s) => {
        s.logLevel = request.params.level;
      });
      return {};
    });
    return server;
  }

  /** Runs an upstream request for a client request: cancellable by the client, errors as JSON-RPC errors. */
  private async upstream<T>(
    scope: ClientScope,
    requestId: RequestId,
    signal: AbortSignal,
    what: 'resource' | 'prompt' | 'request',
    run: () => Promise<T>,
  ): Promise<T> {
    const tracked = this.calls.track(scope.sessionId, requestId, signal);
    try {
      return await run();
    } catch (error) {
      throw toMcpError(error, what);
    } finally {
      tracked.done();
    }
  }

  /**
   * A server-to-client request (sampling, elicitation, roots) from an upstream during a call of this scope: sent to
   * the client on that call's stream; the answer may come back on any replica (the bus brings it here).
   */
  async askClient(
    scope: ClientScope,
    relatedRequestId: RequestId,
    method: string,
    params: Record<string, unknown> | undefined,
    signal: AbortSignal,
  ): Promise<unknown> {
    const capability = CLIENT_CAPABILITY_FOR[method];
    const declared = capability !== undefined && scope.session?.clientCapabilities[capability] !== undefined;
    if (!declared) {
      if (method === 'roots/list') return { roots: [] };
      throw new McpError(
        RpcCode.InvalidRequest,
        `The MCP client of this call did not declare the '${capability ?? method}' capability`,
      );
    }
    const id = `globalmcp-${randomUUID()}`;
    const answer = this.calls.wait(scope.sessionId, id, this.clientTimeoutMs, AbortSignal.any([signal, scope.signal]));
    try {
      await scope.send({ jsonrpc: '2.0', id, method, params: params ?? {} }, relatedRequestId);
    } catch (error) {
      this.calls.settle(scope.sessionId, {
        jsonrpc: '2.0',
        id,
        error: { code: RpcCode.InternalError, message: `The MCP client could not be reached: ${String(error)}` },
      });
    }
    return answer;
  }

  // ------------------------------------------------------------------ messages without a request

  /** Client answers and notifications: to the waiting call here, or to the replica that has it. */
  private async deliver(sessionId: string, view: string, messages: JSONRPCMessage[]): Promise<void> {
    for (const message of messages) {
      if (isJSONRPCNotification(message)) {
        if (message.method === 'notifications/cancelled') {
          const params = message.params as { requestId?: RequestId; reason?: string } | undefined;
          if (params?.requestId === undefined) continue;
          if (!this.calls.cancel(sessionId, params.requestId, params.reason)) {
            await this.bus.publish({ kind: 'cancel', sessionId, requestId: params.requestId, reason: params.reason });
          }
        } else if (message.method === 'notifications/roots/list_changed') {
          const servers = new CatalogView(this.engine, view, undefined, this.separator).servers();
          await Promise.allSettled(servers.map((id) => this.engine.notifyAll(id, message.method)));
        }
        continue;
      }
      if (!this.calls.settle(sessionId, message)) await this.bus.publish({ kind: 'response', sessionId, message });
    }
  }

  private onBusMessage(message: BusMessage): void {
    switch (message.kind) {
      case 'response':
        this.calls.settle(message.sessionId, message.message);
        return;
      case 'cancel':
        this.calls.cancel(message.sessionId, message.requestId, message.reason);
        return;
      case 'legacy':
        void this.legacy.get(message.sessionId)?.handleMessage(message.message);
        return;
      case 'ended':
        this.streams.get(message.sessionId)?.close();
        return;
      case 'notify':
        void this.deliverUpdate(message.serverId, message.notification);
        return;
    }
  }

  /** `notifications/resources/updated` to the local streams of sessions subscribed to the URI. */
  private async deliverUpdate(serverId: string, notification: Notification): Promise<void> {
    const uri = (notification.params as { uri?: unknown } | undefined)?.uri;
    for (const [sessionId, stream] of this.streams) {
      if (!stream.scope.view.includes(serverId)) continue;
      const session = await this.store.touch(sessionId).catch(() => undefined);
      if (session?.subscriptions.includes(String(uri))) {
        void stream.scope.send({ jsonrpc: '2.0', ...notification }).catch(() => undefined);
      }
    }
  }

  private broadcast(serverId: string, notification: Notification): void {
    for (const stream of this.streams.values()) {
      if (stream.scope.view.includes(serverId)) {
        void stream.scope.send({ jsonrpc: '2.0', ...notification }).catch(() => undefined);
      }
    }
  }

  private broadcastLog(serverId: string, notification: Notification): void {
    for (const [sessionId, stream] of this.streams) {
      if (!stream.scope.view.includes(serverId)) continue;
      void this.store
        .touch(sessionId)
        .then((session) => this.forwardLog({ ...stream.scope, session }, serverId, notification))
        .catch(() => undefined);
    }
  }

  private async forwardLog(
    scope: ClientScope,
    serverId: string,
    notification: Notification,
    relatedRequestId?: RequestId,
  ): Promise<void> {
    const params = (notification.params ?? {}) as { level?: LoggingLevel; logger?: string };
    const threshold = scope.session?.logLevel;
    if (threshold && params.level && LOG_ORDER.indexOf(params.level) < LOG_ORDER.indexOf(threshold)) return;
    const logger = scope.view.aggregated ? { logger: params.logger ? `${serverId}/${params.logger}` : serverId } : {};
    await scope
      .send({ jsonrpc: '2.0', method: notification.method, params: { ...params, ...logger } }, relatedRequestId)
      .catch(() => undefined);
  }

  // ------------------------------------------------------------------ sessions

  private async openSession(
    principal: Principal | undefined,
    view: string,
    params: {
      protocolVersion: string;
      capabilities: McpSession['clientCapabilities'];
      clientInfo: McpSession['clientInfo'];
    },
  ): Promise<McpSession> {
    const session: McpSession = {
      id: randomUUID(),
      principalId: principal?.id ?? 'anonymous',
      view,
      protocolVersion: params.protocolVersion,
      clientInfo: params.clientInfo,
      clientCapabilities: params.capabilities,
      logLevel: null,
      subscriptions: [],
      createdAt: Date.now(),
    };
    if (!(await this.store.create(session))) throw tooManySessions(this.endpoint.maxSessions);
    this.metrics.sessionOpened();
    return session;
  }

  /** The caller's live session on this endpoint; 404 (never 403: ids are not confirmed to others) otherwise. */
  private async findSession(id: string, principal: Principal | undefined, view: string): Promise<McpSession> {
    const session = await this.store.touch(id);
    if (!session || session.principalId !== (principal?.id ?? 'anonymous') || session.view !== view) {
      throw new AppException(ErrorCode.RESOURCE_NOT_FOUND, 'MCP session not found or expired: initialize a new one', {
        session_id: id,
      });
    }
    return session;
  }

  private async endSession(
    reply: FastifyReply,
    id: string | undefined,
    principal: Principal | undefined,
    view: string,
  ): Promise<void> {
    if (id === undefined) throw AppException.invalid('DELETE ends a session: send Mcp-Session-Id');
    await this.findSession(id, principal, view);
    await this.store.delete(id);
    await this.bus.publish({ kind: 'ended', sessionId: id });
    void reply.status(200).send();
  }

  private async editSession(scope: ClientScope, edit: (session: McpSession) => void): Promise<void> {
    if (!scope.session) return;
    const fresh = (await this.store.touch(scope.sessionId)) ?? scope.session;
    edit(fresh);
    scope.session = fresh;
    await this.store.update(fresh);
  }

  // ------------------------------------------------------------------ checks

  /** `tools/call` needs `mcp:write` (the route itself needs `mcp:read`): 403 with the scope challenge. */
  private requireScopes(principal: Principal | undefined, messages: JSONRPCMessage[]): void {
    if (!principal) return;
    if (!messages.some((m) => isJSONRPCRequest(m) && m.method === 'tools/call')) return;
    const missing = missingScopes(principal.scopes, ['mcp:write']);
    if (missing.length > 0) throw insufficientScope(missing);
  }

  /**
   * DNS rebinding: a page on another site that resolves its name to 127.0.0.1 must not reach a gateway bound to
   * loopback. Such a request carries the attacker's Host (and Origin): only loopback names (and configured extras)
   * are accepted on a loopback bind.
   */
  private checkHostAndOrigin(request: FastifyRequest): void {
    if (!this.endpoint.dnsRebindingProtection || !this.loopbackBind) return;
    const host = single(request.headers.host) ?? '';
    const hostname = host.replace(/:\d+$/, '');
    if (!LOOPBACK_HOSTS.has(hostname) && !this.endpoint.allowedHosts.includes(host)) {
      throw new AppException(ErrorCode.AUTHORIZATION_DENIED, `Host '${host}' is not allowed on a loopback bind`, {
        reason: 'DNS_REBINDING_PROTECTION',
      });
    }
    const origin = single(request.headers.origin);
    if (origin === undefined || this.endpoint.allowedOrigins.includes(origin)) return;
    let originHost: string;
    try {
      originHost = new URL(origin).hostname;
    } catch {
      originHost = '';
    }
    if (!LOOPBACK_HOSTS.has(originHost)) {
      throw new AppException(ErrorCode.AUTHORIZATION_DENIED, `Origin '${origin}' is not allowed on a loopback bind`, {
        reason: 'DNS_REBINDING_PROTECTION',
      });
    }
  }
}

/**
 * Answers an upstream's server-to-client requests during one client request (see `CallOrigin`). The calls of one
 * session form one group; they can answer when the client declared sampling, elicitation or roots at initialize
 * and the gateway forwards those to upstreams (a request without a session, of a client that declared none, or with
 * forwarding off is placed and routed like a REST call).
 */
class ClientOrigin implements CallOrigin {
  readonly group: string;
  readonly answers: boolean;

  constructor(
    private readonly door: McpFrontDoorService,
    readonly scope: ClientScope,
    readonly requestId: RequestId,
  ) {
    this.group = scope.sessionId;
    const caps = scope.session?.clientCapabilities;
    this.answers =
      door.forwardsClientRequests &&
      caps !== undefined &&
      Object.values(CLIENT_CAPABILITY_FOR).some((c) => caps[c] !== undefined);
  }

  request(method: string, params: Record<string, unknown> | undefined, signal: AbortSignal): Promise<unknown> {
    return this.door.askClient(this.scope, this.requestId, method, params, signal);
  }
}

/** Requests during which the upstream may send progress, log messages or requests for the client. */
const CALLS = new Set(['tools/call', 'resources/read', 'prompts/get', 'completion/complete']);

/**
 * Whether a request's answer must be an event stream: a call with a progress token, or a call of a session whose
 * client accepts server-to-client requests (they go out on the call's stream). Everything else gets plain JSON.
 */
function mayStream(request: JSONRPCRequest, session: McpSession | undefined): boolean {
  if (!CALLS.has(request.method)) return false;
  if ((request.params as { _meta?: { progressToken?: unknown } } | undefined)?._meta?.progressToken !== undefined)
    return true;
  const caps = session?.clientCapabilities ?? {};
  return caps.sampling !== undefined || caps.elicitation !== undefined || caps.roots !== undefined;
}

const JSONRPC_KEYS = new Set(['jsonrpc', 'id', 'method', 'params', 'result', 'error']);

/**
 * Streamable HTTP: a POST must accept both JSON and an event stream, a GET the event stream. Checked before the SDK
 * (which would answer 406 with a JSON-RPC body) so that a refusal has the gateway's envelope like every other.
 */
function checkAccept(request: FastifyRequest): void {
  const accept = single(request.headers.accept) ?? '';
  const ok =
    request.method === 'GET'
      ? accept.includes('text/event-stream')
      : accept.includes('application/json') && accept.includes('text/event-stream');
  if (!ok) {
    throw AppException.invalid(
      request.method === 'GET'
        ? 'Accept must list text/event-stream'
        : 'Accept must list both application/json and text/event-stream (MCP Streamable HTTP)',
      { accept },
    );
  }
}

/** The JSON-RPC messages of a POST body; 400 envelope naming the problem when it is not JSON-RPC. */
function parseMessages(body: unknown): JSONRPCMessage[] {
  const items: unknown[] = Array.isArray(body) ? (body as unknown[]) : [body];
  if (items.length === 0) throw AppException.invalid('Empty JSON-RPC batch');
  return items.map((item, index) => {
    const unknown =
      item !== null && typeof item === 'object' && !Array.isArray(item)
        ? Object.keys(item).filter((k) => !JSONRPC_KEYS.has(k))
        : [];
    if (unknown.length > 0) {
      throw AppException.invalid('The body is not a JSON-RPC 2.0 message', { index, unknown_fields: unknown });
    }
    const parsed = JSONRPCMessageSchema.safeParse(item);
    if (!parsed.success) {
      throw AppException.invalid('The body is not a JSON-RPC 2.0 message', {
        index,
        problems: parsed.error.issues.slice(0, 5).map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`),
      });
    }
    return parsed.data;
  });
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function tooManySessions(max: number): AppException {
  return new AppException(
    ErrorCode.SERVER_UNAVAILABLE,
    `Too many live MCP sessions (mcp.endpoint.max-sessions: ${max})`,
    {
      max_sessions: max,
    },
  );
}
