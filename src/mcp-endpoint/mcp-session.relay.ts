import { Inject, Injectable, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import {
  ErrorCode as RpcCode,
  isJSONRPCNotification,
  LoggingLevelSchema,
  McpError,
  type JSONRPCMessage,
  type LoggingLevel,
  type Notification,
  type RequestId,
} from '@modelcontextprotocol/sdk/types.js';
import { randomUUID } from 'node:crypto';
import { APP_CONFIG } from 'src/config/config.module';
import type { AppConfig } from 'src/config/config.schema';
import { McpEngine } from 'src/mcp/mcp-engine';
import { CatalogView } from './catalog-view';
import { ClientCalls } from './client-calls';
import { type ClientAsker, CLIENT_CAPABILITY_FOR, ClientOrigin } from './client-origin';
import type { ClientScope, OpenStream } from './client-scope';
import { McpEndpointMetrics } from './mcp-endpoint.metrics';
import { type BusMessage, McpSessionBus } from './mcp-session.bus';
import { McpSessionStore } from './mcp-session.store';

const LIST_CHANGED_OF: Record<string, string> = {
  tools: 'notifications/tools/list_changed',
  resources: 'notifications/resources/list_changed',
  resourceTemplates: 'notifications/resources/list_changed',
  prompts: 'notifications/prompts/list_changed',
};

const LOG_ORDER: readonly LoggingLevel[] = LoggingLevelSchema.options;

/**
 * Everything that travels between an MCP client session and the rest of the gateway besides the request/answer of a
 * call: server-to-client requests (`askClient`, through `ClientOrigin`) and the client's answers, cancellations,
 * upstream notifications (list_changed, resources/updated, log messages) to the streams open on this replica, and
 * the session bus that carries what another replica holds (ADR 0003). Transport-neutral: a scope's `send` writes.
 */
@Injectable()
export class McpSessionRelay implements OnModuleInit, OnApplicationShutdown, ClientAsker {
  private readonly calls = new ClientCalls();
  /** Standalone streams by session id. */
  private readonly streams = new Map<string, OpenStream>();
  /** Legacy SSE connections held here, by session id: what the bus brings for them is handed in. */
  private readonly legacyInboxes = new Map<string, (message: JSONRPCMessage) => void>();
  private readonly clientTimeoutMs: number;
  private readonly separator: string;
  /**
   * The engine announces sampling, elicitation and roots to upstreams (McpModule): without it no upstream asks a
   * client anything, and a session's calls need no connection of their own (see `ClientOrigin`).
   */
  readonly forwardsClientRequests: boolean;

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly engine: McpEngine,
    private readonly store: McpSessionStore,
    private readonly bus: McpSessionBus,
    private readonly metrics: McpEndpointMetrics,
  ) {
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
        if (origin instanceof ClientOrigin) {
          const scope = origin.scope;
          void this.forwardLog(
            scope.streaming ? scope : (this.streams.get(scope.sessionId)?.scope ?? scope),
            serverId,
            notification,
            scope.streaming ? origin.requestId : undefined,
          );
        } else this.broadcastLog(serverId, notification);
      } else if (notification.method === 'notifications/resources/updated') {
        void this.bus.publish({ kind: 'notify', serverId, notification }).catch(() => undefined);
      }
    });
  }

  onApplicationShutdown(): void {
    for (const stream of this.streams.values()) stream.close();
    this.streams.clear();
  }

  // ------------------------------------------------------------------ calls of a scope

  /** The origin that upstream calls made for this client request carry (see `CallOrigin`). */
  origin(scope: ClientScope, requestId: RequestId): ClientOrigin {
    return new ClientOrigin(this, scope, requestId);
  }

  /** Registers a client request in flight, so that its `notifications/cancelled` aborts it wherever it arrives. */
  track(scope: ClientScope, requestId: RequestId, signal: AbortSignal): { signal: AbortSignal; done: () => void } {
    return this.calls.track(scope.sessionId, requestId, signal);
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

  /** Client answers and notifications: to the waiting call here, or to the replica that has it. */
  async deliver(sessionId: string, view: string, messages: JSONRPCMessage[]): Promise<void> {
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

  // ------------------------------------------------------------------ streams open on this replica

  /** Registers the standalone stream of a session (replacing any earlier one of it); counted while open. */
  openStream(scope: ClientScope, close: () => void): OpenStream {
    const stream: OpenStream = { scope, close };
    this.streams.set(scope.sessionId, stream);
    this.metrics.streamOpened();
    return stream;
  }

  /** The stream of a session open here (a new GET closes the one it replaces). */
  streamOf(sessionId: string): OpenStream | undefined {
    return this.streams.get(sessionId);
  }

  /** Forgets a stream that closed (unless a newer one of the session replaced it already). */
  streamClosed(stream: OpenStream): void {
    if (this.streams.get(stream.scope.sessionId) === stream) this.streams.delete(stream.scope.sessionId);
    this.metrics.streamClosed();
  }

  /** Messages the bus brings for a legacy SSE session held here go to `inbox`, until the returned function. */
  holdLegacy(sessionId: string, inbox: (message: JSONRPCMessage) => void): () => void {
    this.legacyInboxes.set(sessionId, inbox);
    return () => {
      if (this.legacyInboxes.get(sessionId) === inbox) this.legacyInboxes.delete(sessionId);
    };
  }

  /** A legacy `/messages` POST for an SSE connection this replica does not hold: to the replica that does. */
  async postLegacy(sessionId: string, messages: JSONRPCMessage[]): Promise<void> {
    for (const message of messages) await this.bus.publish({ kind: 'legacy', sessionId, message });
  }

  // ------------------------------------------------------------------ what the bus and the engine bring

  private onBusMessage(message: BusMessage): void {
    switch (message.kind) {
      case 'response':
        this.calls.settle(message.sessionId, message.message);
        return;
      case 'cancel':
        this.calls.cancel(message.sessionId, message.requestId, message.reason);
        return;
      case 'legacy':
        this.legacyInboxes.get(message.sessionId)?.(message.message);
        return;
      case 'ended':
        this.streams.get(message.sessionId)?.close();
        return;
      case 'notify':
        void this.deliverUpdate(message.serverId, message.notification);
        return;
      case 'input':
      case 'input-reply':
      case 'input-cancel':
      case 'task':
      case 'task-update':
      case 'task-update-reply':
        return; // 2026-07-28 retries (InputRounds) and tasks (TaskInputs)
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

  /** A log message to a client, unless below the session's `logging/setLevel`; named by server on `/mcp`. */
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
