import { Inject, Injectable, type OnModuleInit, Optional } from '@nestjs/common';
import type { InitializeRequest, Tool } from '@modelcontextprotocol/sdk/types.js';
import { randomUUID } from 'node:crypto';
import type { Principal } from 'src/auth/principal';
import { AppException } from 'src/common/errors/app.exception';
import { ErrorCode } from 'src/common/errors/error-code';
import { APP_CONFIG } from 'src/config/config.module';
import type { AppConfig } from 'src/config/config.schema';
import { McpEngine } from 'src/mcp/mcp-engine';
import { PolicyService } from 'src/policy/policy.service';
import { VirtualServersService } from 'src/virtual-servers/virtual-servers.service';
import { CatalogView } from './catalog-view';
import type { ClientScope } from './client-scope';
import { McpEndpointMetrics } from './mcp-endpoint.metrics';
import { McpSessionBus } from './mcp-session.bus';
import { STATELESS_REVISION } from './transports/protocol-family';
import { VirtualCatalogView } from './virtual-view';
import { type McpSession, McpSessionStore } from './mcp-session.store';

/** What `initialize` tells about the client (absent for a legacy session until its `initialize` arrives). */
export type InitializeParams = Pick<InitializeRequest['params'], 'protocolVersion' | 'capabilities' | 'clientInfo'>;

/** The one place a session record is written from nothing. */
export function newSessionRecord(
  id: string,
  principal: Principal | undefined,
  view: string,
  init: InitializeParams | undefined,
  now = Date.now(),
): McpSession {
  return {
    id,
    principalId: principalIdOf(principal),
    view,
    protocolVersion: init?.protocolVersion ?? '',
    clientInfo: init?.clientInfo ?? null,
    clientCapabilities: init?.capabilities ?? {},
    logLevel: null,
    subscriptions: [],
    createdAt: now,
  };
}

/** Sessions are owned by a principal; a route without a credential has the `anonymous` owner. */
export const principalIdOf = (principal: Principal | undefined): string => principal?.id ?? 'anonymous';

/** The id a client scope goes by: its session's, or a one-off one for a request without a session. */
export const scopeIdOf = (session: McpSession | undefined): string => session?.id ?? `stateless-${randomUUID()}`;

/**
 * MCP session records and client scopes, each built here only: open (bounded by `mcp.endpoint.max-sessions`), find
 * (404 for an id of another principal or endpoint), edit, end; and the `ClientScope` each request is served with.
 * Storage is McpSessionStore (Redis or memory), cross-replica delivery McpSessionBus.
 */
@Injectable()
export class McpSessions implements OnModuleInit {
  private readonly maxSessions: number;
  private readonly separator: string;

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly engine: McpEngine,
    private readonly store: McpSessionStore,
    private readonly bus: McpSessionBus,
    private readonly metrics: McpEndpointMetrics,
    private readonly policy: PolicyService,
    @Optional() private readonly virtuals?: VirtualServersService,
  ) {
    this.maxSessions = config.mcp.endpoint.maxSessions;
    this.separator = config.mcp.endpoint.separator;
  }

  onModuleInit(): void {
    this.metrics.sessions(() => this.store.count());
    // Counted with the sessions: only the front door's sessions make calls that may wait for a connection to share.
    this.engine.on('placement.wait', ({ serverId }) => this.metrics.placementWait(serverId));
  }

  /**
   * Stores a new session record; 503 when `mcp.endpoint.max-sessions` live at once. `id` is given by the legacy
   * transport (its endpoint URL names it); Streamable HTTP sessions get a fresh UUID.
   */
  async open(
    principal: Principal | undefined,
    view: string,
    init: InitializeParams | undefined,
    id: string = randomUUID(),
  ): Promise<McpSession> {
    const session = newSessionRecord(id, principal, view, init);
    if (!(await this.store.create(session))) throw tooManySessions(this.maxSessions);
    this.metrics.sessionOpened();
    return session;
  }

  /** The caller's live session on this endpoint; 404 (never 403: ids are not confirmed to others) otherwise. */
  async find(id: string, principal: Principal | undefined, view: string): Promise<McpSession> {
    const session = await this.store.touch(id);
    if (!session || session.principalId !== principalIdOf(principal) || session.view !== view) {
      throw new AppException(ErrorCode.RESOURCE_NOT_FOUND, 'MCP session not found or expired: initialize a new one', {
        session_id: id,
      });
    }
    return session;
  }

  /** Restarts the idle timer of a session whose client only listens (its open stream keeps it alive). */
  async touch(id: string): Promise<void> {
    await this.store.touch(id);
  }

  /** A legacy session learns its client at `initialize`, which comes after the record was made. */
  async initialized(session: McpSession, init: InitializeParams): Promise<void> {
    session.clientCapabilities = init.capabilities;
    session.clientInfo = init.clientInfo;
    session.protocolVersion = init.protocolVersion;
    await this.store.update(session);
  }

  /** Re-reads the record of a scope's session, applies `edit` and writes it back (log level, subscriptions). */
  async edit(scope: ClientScope, edit: (session: McpSession) => void): Promise<void> {
    if (!scope.session) return;
    const fresh = (await this.store.touch(scope.sessionId)) ?? scope.session;
    edit(fresh);
    scope.session = fresh;
    await this.store.update(fresh);
  }

  /** `DELETE /mcp`: the caller's session ends, and its streams on every replica. */
  async end(id: string, principal: Principal | undefined, view: string): Promise<void> {
    await this.find(id, principal, view);
    await this.store.delete(id);
    await this.bus.publish({ kind: 'ended', sessionId: id });
  }

  /** A legacy session ends with its SSE connection. */
  async drop(id: string): Promise<void> {
    await this.store.delete(id);
  }

  /** The one place a `ClientScope` is built. */
  scope(input: {
    session: McpSession | undefined;
    sessionId?: string;
    principal: Principal | undefined;
    view: string;
    streaming: boolean;
    signal: AbortSignal;
    send: ClientScope['send'];
    protocolVersion?: string;
  }): ClientScope {
    return {
      streaming: input.streaming,
      ...(input.protocolVersion !== undefined ? { protocolVersion: input.protocolVersion } : {}),
      sessionId: input.sessionId ?? scopeIdOf(input.session),
      session: input.session,
      principal: input.principal,
      view: this.viewOf(input.view, input.principal),
      signal: input.signal,
      send: input.send,
    };
  }

  /**
   * The scope of one 2026-07-28 request: no session, the stateless revision, an answer that may be an event stream.
   * `send` takes what the upstream says during the request; without one it is dropped.
   */
  statelessScope(
    request: { principal: Principal | undefined; view: string; signal: AbortSignal },
    send: ClientScope['send'] = () => Promise.resolve(),
  ): ClientScope {
    return this.scope({
      session: undefined,
      principal: request.principal,
      view: request.view,
      streaming: true,
      signal: request.signal,
      protocolVersion: STATELESS_REVISION,
      send,
    });
  }

  /** The catalog view of `/mcp` (`*`), `/mcp/{server_id}` or `/mcp/{virtual_id}` (virtual-view.ts) for a caller. */
  private viewOf(view: string, principal: Principal | undefined): CatalogView {
    const allowed = principal?.servers ?? undefined;
    // The same evaluation as the call pipeline's policy stage: a tool listed here is one tools/call accepts.
    const permits = (serverId: string, tool: Tool) => this.policy.permits(principal, serverId, tool);
    const virtual = this.virtuals?.get(view);
    if (virtual) {
      return new VirtualCatalogView(this.engine, virtual, this.virtuals!.catalog, allowed, this.separator, permits);
    }
    return new CatalogView(this.engine, view, allowed, this.separator, permits);
  }
}

function tooManySessions(max: number): AppException {
  return new AppException(
    ErrorCode.SERVER_UNAVAILABLE,
    `Too many live MCP sessions (mcp.endpoint.max-sessions: ${max})`,
    { max_sessions: max },
  );
}
