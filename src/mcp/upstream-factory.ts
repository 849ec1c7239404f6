import type { EventEmitter } from 'node:events';
import type { Implementation, Notification } from '@modelcontextprotocol/sdk/types.js';
import type { ServerEntry } from 'src/config/config.schema';
import { isCallerAuth } from 'src/config/upstream-auth.schema';
import { type Catalog, ALL_CATALOG_KINDS, LIST_CHANGED } from './catalog';
import type { ChildReaper, ReapOptions } from './child-reaper';
import { type CallOrigin, McpConnection } from './connection';
import type { UpstreamCredentials } from './credentials/upstream-credentials';
import type { EngineLogger } from './engine-logger';
import type { McpEngineEvents } from './mcp-engine.events';
import { type McpEngineOptions, defaultTimeout } from './mcp-engine.types';
import { ConnectionPool } from './pool';
import { PrincipalConnections } from './principal-connections';
import type { CrashLoopPolicy } from './restart-policy';
import { ServerSupervisor } from './supervisor';
import type { RequestHeaders } from './transports/http.transport';

export interface UpstreamFactoryDeps {
  options: McpEngineOptions;
  logger: EngineLogger;
  reaper: ChildReaper;
  reap: ReapOptions;
  crashLoop: CrashLoopPolicy;
  clientInfo: Implementation;
  credentials: UpstreamCredentials;
  catalog: Catalog;
  /** The engine: supervisors' and connections' events are re-emitted as the engine's own. */
  events: EventEmitter<McpEngineEvents>;
}

/**
 * Builds what one registered server runs on: its supervised pool (which also feeds the shared catalog) and, for a
 * server that acts on behalf of each caller (ADR 0007), its per-principal connections. The engine decides when; this
 * class knows how the parts are wired to each other and to the engine's events.
 */
export class UpstreamFactory {
  constructor(private readonly deps: UpstreamFactoryDeps) {}

  supervisor(id: string, entry: ServerEntry): ServerSupervisor {
    const { options, events, catalog } = this.deps;
    const client = options.client;
    const size = ConnectionPool.sizeFor(entry.poolSize, client.pool.coreSize, client.pool.maxSize);
    const supervisor = new ServerSupervisor(
      id,
      entry,
      size,
      () => this.connection(id, entry),
      client.retry,
      this.deps.crashLoop,
      this.deps.logger,
      client.pool.keepAlive,
      client.pool.queueCapacity,
    );
    supervisor.on('status', (status, previous, lastError) =>
      events.emit('server.status', { serverId: id, status, previous, lastError }),
    );
    supervisor.on('restart', (info) => events.emit('server.restart', { serverId: id, ...info }));
    supervisor.on('placement-wait', () => events.emit('placement.wait', { serverId: id }));
    supervisor.on('member-up', (conn) => {
      // Discovered on connect, refreshed on every reconnect.
      void catalog.refresh(id, conn, ALL_CATALOG_KINDS, defaultTimeout(entry, client));
    });
    return supervisor;
  }

  /** Per-principal connections for a server whose credential depends on the caller; undefined for the others. */
  principalConnections(id: string, entry: ServerEntry): PrincipalConnections | undefined {
    if (!isCallerAuth(entry) || !entry.auth) return undefined;
    return new PrincipalConnections({
      serverId: id,
      max: entry.auth.maxConnections,
      idleMs: entry.auth.idleTimeout,
      logger: this.deps.logger,
      create: (headers, partition) =>
        this.connection(id, entry, headers, false, () => this.deps.credentials.rejected(id, entry, partition)),
    });
  }

  /**
   * A connection of the server's pool (`headers` unset: the server-wide credential, `catalog` on), or a principal's
   * (its own headers; its notifications do not drive the shared catalog).
   */
  private connection(
    id: string,
    entry: ServerEntry,
    headers?: RequestHeaders,
    catalog = true,
    onUnauthorized?: () => void,
  ): McpConnection {
    const { options, logger, events } = this.deps;
    const timeout = defaultTimeout(entry, options.client);
    const conn = new McpConnection(id, entry, {
      logger,
      reaper: this.deps.reaper,
      reap: this.deps.reap,
      // Spawn + initialize is not a tool call: a short per-call `timeout` must not make a server unable to start.
      connectTimeoutMs: options.connectTimeoutMs ?? Math.max(timeout, options.client.defaultTimeout),
      maxResultSize: options.client.maxResultSize,
      clientInfo: this.deps.clientInfo,
      maxInFlight: options.client.maxConcurrentConnections,
      transportFactory: options.transportFactory,
      clientCapabilities: options.clientCapabilities,
      ...(headers ? { requestHeaders: headers, onUnauthorized } : this.deps.credentials.pooled(id, entry)),
    });
    conn.on('notification', (notification: Notification, origin: CallOrigin | undefined) => {
      events.emit('server.notification', { serverId: id, notification, origin });
      const kinds = LIST_CHANGED[notification.method];
      if (catalog && kinds && conn.isOpen) void this.deps.catalog.refresh(id, conn, kinds, timeout);
    });
    conn.on('protocol-error', (error: Error) => logger.debug(`[${id}] protocol error: ${error.message}`, 'McpEngine'));
    return conn;
  }
}
