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
  type JSONRPCMessage,
  type JSONRPCRequest,
  type LoggingLevel,
  type Notification,
  type RequestId,
  type ServerCapabilities,
} from '@modelcontextprotocol/sdk/types.js';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { randomUUID } from 'node:crypto';
import { AppException } from 'src/common/errors/app.exception';
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
import type { McpSession } from './mcp-session.store';
import { McpSessionStore } from './mcp-session.store';
import type { ClientScope, OpenStream } from './client-scope';
import { McpSessions, scopeIdOf } from './mcp-sessions.service';
import { checkAccept, parseMessages, single } from './transports/http-messages';

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
    private readonly sessions: McpSessions,
  ) {
    this.endpoint = config.mcp.endpoint;
    this.forwardsClientRequests = config.mcp.endpoint.forwardClientCapabilities;
    this.separator = config.mcp.endpoint.separator;
    this.clientTimeoutMs = config.mcp.client.defaultTimeout;
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
  }

  onApplicationShutdown(): void {
    for (const stream of this.streams.values()) stream.close();
    this.streams.clear();
  }

  // ------------------------------------------------------------------ Streamable HTTP

  /** POST, GET or DELETE on `/mcp` (`view` = `*`) or `/mcp/{server_id}`. */
  async handle(request: FastifyRequest, reply: FastifyReply, view: string): Promise<void> {
    if (view !== AGGREGATED) this.servers.find(view);
    const principal = request.principal;
    const headerId = single(request.headers['mcp-session-id']);

    if (request.method === 'DELETE') {
      if (headerId === undefined) throw AppException.invalid('DELETE ends a session: send Mcp-Session-Id');
      await this.sessions.end(headerId, principal, view);
      void reply.status(200).send();
      return;
    }
    checkAccept(request);

    const messages = request.method === 'POST' ? parseMessages(request.body) : [];
    const init = messages.find((m) => isInitializeRequest(m));
    let session: McpSession | undefined;
    if (init) {
      session = await this.sessions.open(principal, view, init.params);
    } else if (headerId !== undefined) {
      session = await this.sessions.find(headerId, principal, view);
    } else if (request.method === 'GET') {
      throw AppException.invalid('GET /mcp opens the stream of a session: send Mcp-Session-Id');
    }
    for (const m of messages) if (isJSONRPCRequest(m)) this.metrics.message(m.method);
    const sessionId = scopeIdOf(session);

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
    const scope = this.sessions.scope({
      session,
      sessionId,
      principal,
      view,
      streaming,
      signal: hangUp.signal,
      send: (message, relatedRequestId) => transport.send(message, { relatedRequestId }),
    });
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
        () => void this.sessions.touch(sessionId).catch(() => undefined),
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
    const principal = request.principal;
    const transport = new SSEServerTransport('/messages', reply.raw);
    const session = await this.sessions.open(principal, AGGREGATED, undefined, transport.sessionId);
    const hangUp = new AbortController();
    const scope = this.sessions.scope({
      session,
      principal,
      view: AGGREGATED,
      streaming: true,
      signal: hangUp.signal,
      send: (message) => transport.send(message),
    });
    const server = this.buildServer(scope);
    reply.hijack();
    reply.raw.setHeader(REQUEST_ID_HEADER, String(request.id));
    await server.connect(transport);
    const dispatch = transport.onmessage;
    transport.onmessage = (message, extra) => {
      if (isInitializeRequest(message)) {
        void this.sessions.initialized(session, message.params).catch(() => undefined);
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
      void this.sessions.drop(session.id).catch(() => undefined);
    });
  }

  /** `POST /messages?sessionId=`: to the replica holding the session's SSE stream. */
  async postLegacy(request: FastifyRequest, reply: FastifyReply, sessionId: string | undefined): Promise<void> {
    if (!sessionId) throw AppException.invalid('sessionId query parameter is required');
    const principal = request.principal;
    await this.sessions.find(sessionId, principal, AGGREGATED);
    const messages = parseMessages(request.body);
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
        await this.sessions.edit(scope, (s) => {
          if (!s.subscriptions.includes(target.name)) s.subscriptions.push(target.name);
        });
        return {};
      });
      server.setRequestHandler(UnsubscribeRequestSchema, async (request) => {
        // The upstream subscription stays: other sessions may hold the same one; updates are filtered per session.
        await this.sessions.edit(scope, (s) => {
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
      await this.sessions.edit(scope, (s) => {
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
