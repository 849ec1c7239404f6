import { Inject, Injectable, Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import {
  createMcpHandler,
  type McpHandlerRequestOptions,
  type McpHttpHandler,
  type Server,
} from '@modelcontextprotocol/server';
import type { FastifyInstance } from 'fastify';
import { APP_CONFIG } from 'src/config/config.module';
import type { AppConfig } from 'src/config/config.schema';
import type { CatalogKind } from 'src/mcp/catalog';
import { McpEngine } from 'src/mcp/mcp-engine';
import { McpEndpointMetrics } from '../mcp-endpoint.metrics';
import { McpSessionBus } from '../mcp-session.bus';
import { McpSessions, principalIdOf } from '../mcp-sessions.service';
import { type StatelessExchange, StatelessServerFactory } from '../stateless-server';
import { TaskInputs } from '../tasks/task-inputs';
import { LIST_KINDS, type ListenContext, type ListenedResource, ListenFanout, type ListKind } from './listen-fanout';
import { keptOpen, refusal, requestedTaskIds, withTaskNotifications } from './task-notifications';

const LIST_OF: Record<CatalogKind, ListKind> = {
  tools: 'tools',
  prompts: 'prompts',
  resources: 'resources',
  resourceTemplates: 'resources',
};

/**
 * `subscriptions/listen` on the 2026-07-28 front door (ADR 0006): one long-lived event stream per listen request.
 * SDK 2's listen router serves it (its own `createMcpHandler`, so that shutting the streams down leaves the calls in
 * flight alone), bounded by `mcp.endpoint.max-listen-streams` per process; `ListenFanout` decides what each stream
 * hears. Fed on every replica by what that replica sees: its own upstream connections' `list_changed` (the engine's
 * `catalog.changed`, after the catalog was refreshed) and `server.removed`; `resources/updated` through the session
 * bus, on which every replica publishes what its upstreams send (McpSessionRelay), so an update that reaches one
 * replica reaches listeners on all.
 *
 * A stream asking for resource URIs subscribes upstream (`resources/subscribe`, on this replica's connection) before
 * it is acknowledged, and again when the server comes back after an outage. The upstream subscription stays when the
 * last listener leaves, as on the 2025 path: a 2025 session may hold the same one on the same pooled connection.
 */
@Injectable()
export class ListenStreams implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('McpListen');
  readonly fanout: ListenFanout;
  private readonly handler: McpHttpHandler;
  /** Resource URIs live listeners of this replica asked for, by server: how many listeners each. */
  private readonly held = new Map<string, Map<string, number>>();
  private closed = false;

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly engine: McpEngine,
    private readonly bus: McpSessionBus,
    private readonly sessions: McpSessions,
    private readonly factory: StatelessServerFactory,
    private readonly adapterHost: HttpAdapterHost,
    metrics: McpEndpointMetrics,
    private readonly tasks: TaskInputs,
  ) {
    const onerror = (error: Error) => this.logger.debug(`subscriptions/listen: ${error.message}`);
    // Counted with the 2025 standalone streams (mcp_endpoint_streams): each holds a connection the same way.
    this.fanout = new ListenFanout({
      opened: (context) => {
        this.hold(context.resources, 1);
        metrics.streamOpened();
      },
      closed: (context) => {
        this.hold(context.resources, -1);
        metrics.streamClosed();
      },
      onerror,
    });
    this.handler = createMcpHandler(() => this.serverFor(), {
      legacy: 'reject',
      bus: this.fanout,
      maxSubscriptions: config.mcp.endpoint.maxListenStreams,
      onerror,
    });
  }

  onModuleInit(): void {
    this.engine.on('catalog.changed', ({ serverId, kinds }) =>
      this.fanout.listsChanged(serverId, [...new Set(kinds.map((k) => LIST_OF[k]))]),
    );
    this.engine.on('server.removed', ({ serverId }) => this.fanout.listsChanged(serverId, LIST_KINDS));
    // An upstream that was down lost its subscriptions with its connection.
    this.engine.on('server.status', ({ serverId, status, previous }) => {
      if (status === 'active' && previous !== 'active') this.resubscribe(serverId);
    });
    this.bus.onMessage((message) => {
      if (message.kind !== 'notify' || message.notification.method !== 'notifications/resources/updated') return;
      const params = (message.notification.params ?? {}) as Record<string, unknown>;
      if (typeof params.uri === 'string') this.fanout.resourceUpdated(message.serverId, params.uri, params);
    });
    // An event stream never ends by itself, and Fastify waits for requests in flight before it closes: end the
    // streams (gracefully: each gets the final `subscriptions/listen` result) before, not after, the grace period.
    const fastify = this.adapterHost.httpAdapter?.getInstance<FastifyInstance>();
    fastify?.addHook('preClose', (done) => {
      void this.close().finally(done);
    });
  }

  async onApplicationShutdown(): Promise<void> {
    await this.close();
  }

  /** Whether a parsed POST body is a `subscriptions/listen` request (the stateless handler routes it here). */
  static claims(body: unknown): boolean {
    return (
      typeof body === 'object' && body !== null && (body as { method?: unknown }).method === 'subscriptions/listen'
    );
  }

  /**
   * Serves one `subscriptions/listen` request: the SDK's response, an event stream while the client listens. A filter
   * naming `taskIds` (the Tasks extension) also gets `notifications/tasks` for those of the caller's own tasks,
   * merged into the SDK's stream (task-notifications.ts); another principal's task is acknowledged like any id (no
   * probing) and never told.
   */
  async serve(request: Request, options: McpHandlerRequestOptions, exchange: StatelessExchange): Promise<Response> {
    if (this.closed) return shuttingDown(options.parsedBody);
    const scope = this.sessions.statelessScope(exchange);
    const taskIds = requestedTaskIds(options.parsedBody);
    const refused = taskIds && refusal(options.parsedBody, taskIds);
    if (refused) return refused;
    const open = taskIds ? keptOpen(options.parsedBody) : { body: options.parsedBody, injected: false };
    const context: ListenContext<StatelessExchange> = {
      key: `${principalIdOf(exchange.principal)}\n${exchange.view}`,
      view: scope.view,
      resources: routed(scope.view, requestedUris(options.parsedBody)),
      extra: exchange,
      ...(open.injected ? { muted: ['tools'] as const } : {}),
    };
    const response = await this.fanout.within(context, () =>
      this.handler.fetch(request, { ...options, parsedBody: open.body }),
    );
    if (!taskIds || !response.body || !response.headers.get('content-type')?.startsWith('text/event-stream')) {
      return response;
    }
    const id = (options.parsedBody as { id: string | number }).id;
    const owner = principalIdOf(exchange.principal);
    return withTaskNotifications(response, id, taskIds, open.injected, (deliver) =>
      this.tasks.listen(owner, taskIds, deliver as never),
    );
  }

  /** Closes every stream (each gets the graceful end) and refuses new ones. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.handler.close().catch(() => undefined);
  }

  /**
   * The SDK asks for a server only after the request passed its checks (envelope, headers, version): its
   * capabilities narrow the filter the stream acknowledges. The stream's resources are subscribed upstream first, so
   * that an acknowledged stream hears the next update.
   */
  private async serverFor(): Promise<Server> {
    const context = this.fanout.current() as ListenContext<StatelessExchange> | undefined;
    if (!context) throw new Error('subscriptions/listen without its context');
    await this.subscribeUpstream(context.resources, context.extra.signal);
    return this.factory.build(context.extra);
  }

  private async subscribeUpstream(resources: ListenedResource[], signal: AbortSignal): Promise<void> {
    await Promise.all(
      resources
        // Already held by a live listener here: the upstream subscription is in place.
        .filter((r) => !this.held.get(r.serverId)?.get(r.uri))
        .map((r) => this.subscribe(r, signal)),
    );
  }

  private async subscribe({ serverId, uri }: ListenedResource, signal?: AbortSignal): Promise<void> {
    if (!this.engine.getServerCapabilities(serverId)?.resources?.subscribe) return;
    try {
      await this.engine.request(serverId, 'resources/subscribe', { uri }, signal ? { signal } : {});
    } catch (error) {
      // The stream stays open without updates for it, as a 2025 session whose upstream refused.
      this.logger.debug(`resources/subscribe ${uri} on ${serverId}: ${(error as Error).message}`);
    }
  }

  private resubscribe(serverId: string): void {
    for (const uri of this.held.get(serverId)?.keys() ?? []) void this.subscribe({ serverId, uri });
  }

  private hold(resources: ListenedResource[], delta: 1 | -1): void {
    for (const { serverId, uri } of resources) {
      const uris = this.held.get(serverId) ?? new Map<string, number>();
      const count = (uris.get(uri) ?? 0) + delta;
      if (count > 0) uris.set(uri, count);
      else uris.delete(uri);
      if (uris.size > 0) this.held.set(serverId, uris);
      else this.held.delete(serverId);
    }
  }
}

/** The distinct `params.notifications.resourceSubscriptions` of a listen request (the SDK validates the rest). */
function requestedUris(body: unknown): string[] {
  const requested = (body as { params?: { notifications?: { resourceSubscriptions?: unknown } } } | undefined)?.params
    ?.notifications?.resourceSubscriptions;
  if (!Array.isArray(requested)) return [];
  return [...new Set(requested.filter((u): u is string => typeof u === 'string'))];
}

/** Each URI with the server it routes to in the view; a URI no server of the view has is left out (no updates). */
function routed(view: ListenContext['view'], uris: string[]): ListenedResource[] {
  const out: ListenedResource[] = [];
  for (const uri of uris) {
    try {
      out.push({ uri, serverId: view.resolveUri(uri).serverId });
    } catch {
      // Not in this view.
    }
  }
  return out;
}

/** A listen request arriving while the gateway stops: a JSON-RPC error, HTTP 503 (a balancer retries elsewhere). */
function shuttingDown(body: unknown): Response {
  const id = (body as { id?: unknown } | undefined)?.id;
  return Response.json(
    {
      jsonrpc: '2.0',
      id: typeof id === 'string' || typeof id === 'number' ? id : null,
      error: { code: -32603, message: 'The gateway is shutting down: listen again on another replica' },
    },
    { status: 503 },
  );
}
