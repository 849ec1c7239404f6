import { Inject, Injectable } from '@nestjs/common';
import { paginate } from 'src/common/dto/pagination.dto';
import { AppException } from 'src/common/errors/app.exception';
import { APP_CONFIG } from 'src/config/config.module';
import type { AppConfig, ServerEntry } from 'src/config/config.schema';
import { MASK, maskUrl } from 'src/config/mask-secrets';
import { publicAuth } from './registry/server-auth';
import { McpEngine } from 'src/mcp/mcp-engine';
import { ConfigServersSource } from 'src/config/config-servers.source';
import type { ServerState } from 'src/mcp/supervisor';
import type {
  HealthCheckDto,
  ListServersQueryDto,
  ServerActionDto,
  ServerDetailsDto,
  ServerHealthDto,
  ServerInfoDto,
  ServerListDto,
  ServerSummaryDto,
} from './dto/server.dto';
import { ServerRegistryService } from './registry/server-registry.service';
import { ServerStats } from './server-stats';

const PING_TIMEOUT_MS = 5000;

interface RegisteredServer {
  id: string;
  entry: ServerEntry;
  source: 'config' | 'api';
  createdAt: Date;
  updatedAt: Date;
}

/** Servers as the REST API shows them: configuration (secrets masked), live state, catalog counts, call stats. */
@Injectable()
export class ServersService {
  private readonly stats = new ServerStats();
  private readonly mcpViews: ((id: string) => boolean)[] = [];
  private readonly lastHealth = new Map<string, { status: string; at: Date; responseTimeMs: number | null }>();
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly engine: McpEngine,
    private readonly configServers: ConfigServersSource,
    private readonly registry: ServerRegistryService,
  ) {
    engine.on('call.finished', (event) => this.stats.record(event));
    engine.on('server.removed', ({ serverId }) => this.stats.forget(serverId));
  }

  /** `allowed`: the caller's server allow-list (undefined: every server). */
  list(query: ListServersQueryDto, allowed?: ReadonlySet<string>): ServerListDto {
    const all = this.registered()
      .filter((server) => !allowed || allowed.has(server.id))
      .map((server) => this.summary(server))
      .filter((s) => (!query.status || s.status === query.status) && (!query.type || s.type === query.type));
    const { items, pagination } = paginate(all, query);
    return { servers: items, pagination };
  }

  details(id: string): ServerDetailsDto {
    const server = this.find(id);
    const state = this.state(id);
    const summary = this.summary(server);
    const catalog = this.counts(id);
    return {
      ...summary,
      description: server.entry.description ?? null,
      configuration: {
        command: server.entry.command,
        args: [...server.entry.args],
        url: server.entry.url ? maskUrl(server.entry.url) : undefined,
        headers: maskValues(server.entry.headers),
        environment: maskValues(server.entry.environment),
        working_directory: server.entry.workingDirectory,
        auth: publicAuth(server.entry.auth),
        timeout: server.entry.timeout ?? this.config.mcp.client.defaultTimeout,
        pool_size: state?.poolSize ?? server.entry.poolSize ?? this.config.mcp.client.pool.coreSize,
        enabled: server.entry.enabled,
        required: server.entry.required,
      },
      capabilities: {
        ...catalog,
        resource_templates: orEmpty(() => this.engine.listResourceTemplates(id)).length,
        protocol_version: state?.protocolVersion ?? null,
        server_info: state?.serverInfo ?? null,
      },
      metrics: {
        ...this.stats.of(id),
        uptime_seconds: state?.connectedAt ? Math.round((Date.now() - state.connectedAt.getTime()) / 1000) : null,
        restarts: state?.restarts ?? 0,
        in_flight: state?.inFlight ?? 0,
      },
      last_error: state?.lastError ?? null,
      last_error_at: state?.lastErrorAt?.toISOString() ?? null,
    };
  }

  info(id: string): ServerInfoDto {
    this.find(id);
    const state = this.state(id);
    return {
      server_id: id,
      server_info: state?.serverInfo ?? null,
      protocol_version: state?.protocolVersion ?? null,
      status: state?.status ?? 'inactive',
      capabilities: this.counts(id),
    };
  }

  /** Live checks: a `ping` round trip, the transport's authentication, and whether discovery succeeded. */
  async health(id: string): Promise<ServerHealthDto> {
    const server = this.find(id);
    const state = this.state(id);
    const now = new Date();
    const checks: HealthCheckDto[] = [];
    let pingMs: number | null = null;
    let pingError: string | undefined;
    if (state?.status === 'active') {
      const started = performance.now();
      try {
        await this.engine.request(id, 'ping', undefined, { timeoutMs: PING_TIMEOUT_MS });
        pingMs = round(performance.now() - started);
      } catch (error) {
        pingError = (error as Error).message;
      }
    } else {
      pingError = state?.lastError ?? (server.entry.enabled ? 'not connected' : 'server is disabled');
    }
    checks.push({
      name: 'connectivity',
      status: pingMs !== null ? 'UP' : 'DOWN',
      message: pingMs !== null ? 'ping answered' : pingError!,
      response_time_ms: pingMs,
      last_check: now.toISOString(),
    });
    checks.push({
      name: 'authentication',
      status: server.entry.type === 'stdio' ? 'SKIPPED' : state?.status === 'active' ? 'UP' : 'UNKNOWN',
      message:
        server.entry.type === 'stdio'
          ? 'stdio servers are not authenticated'
          : state?.status === 'active'
            ? 'session established with the configured headers'
            : 'no session',
      response_time_ms: null,
      last_check: now.toISOString(),
    });
    const counts = this.counts(id);
    checks.push({
      name: 'capability_discovery',
      status: state?.status === 'active' ? 'UP' : 'UNKNOWN',
      message: `${counts.tools} tools, ${counts.resources} resources, ${counts.prompts} prompts`,
      response_time_ms: null,
      last_check: now.toISOString(),
    });
    const status = pingMs !== null ? 'UP' : 'DOWN';
    this.lastHealth.set(id, { status, at: now, responseTimeMs: pingMs });
    return { server_id: id, status, checks };
  }

  async restart(id: string): Promise<ServerActionDto> {
    this.find(id);
    await this.engine.restartServer(id);
    return { id, status: 'restarted', message: `Server ${id} restarted` };
  }

  /**
   * The given server (404 if unknown), or every registered one (within `allowed`, the caller's allow-list, when
   * given), sorted by id.
   */
  scope(serverId?: string, allowed?: ReadonlySet<string>): string[] {
    if (serverId) return [this.find(serverId).id];
    return this.registered()
      .map((s) => s.id)
      .filter((id) => !allowed || allowed.has(id))
      .sort();
  }

  /**
   * Other kinds of `/mcp/{id}` endpoint register their ids here (virtual servers, src/virtual-servers), so the MCP
   * front door serves them without knowing them.
   */
  addMcpViews(has: (id: string) => boolean): void {
    this.mcpViews.push(has);
  }

  /** 404 unless `id` is a registered server or another `/mcp/{id}` endpoint (`addMcpViews`). */
  assertMcpView(id: string): void {
    if (this.mcpViews.some((has) => has(id))) return;
    this.find(id);
  }

  /** Throws 404 unless a server with this id is registered. */
  find(id: string): RegisteredServer {
    const server = this.registered().find((s) => s.id === id);
    if (!server) throw AppException.notFound(`Server '${id}'`, { server_id: id });
    return server;
  }

  private registered(): RegisteredServer[] {
    // The config servers as of the last reload (src/reload), with when each appeared and last changed, then the
    // servers registered through the API (src/servers/registry) whose id the file does not use.
    const config = this.configServers.list().map((server) => ({ ...server, source: 'config' as const }));
    const api = this.registry
      .list()
      .filter((server) => !this.configServers.get(server.id))
      .map((server) => ({ ...server, source: 'api' as const }));
    return [...config, ...api];
  }

  private summary(server: RegisteredServer): ServerSummaryDto {
    const state = this.state(server.id);
    const health = this.lastHealth.get(server.id);
    return {
      id: server.id,
      name: server.entry.name ?? server.id,
      type: server.entry.type,
      status: state?.status ?? 'inactive',
      endpoint: endpointOf(server.entry),
      capabilities: this.counts(server.id),
      health: {
        status: health?.status ?? (state?.status === 'active' ? 'UP' : state?.status === 'error' ? 'DOWN' : 'UNKNOWN'),
        last_check: health?.at.toISOString() ?? null,
        response_time_ms: health?.responseTimeMs ?? null,
      },
      protocol_version: state?.protocolVersion ?? null,
      source: server.source,
      created_at: server.createdAt.toISOString(),
      updated_at: server.updatedAt.toISOString(),
    };
  }

  private state(id: string): ServerState | undefined {
    try {
      return this.engine.getServerState(id);
    } catch {
      return undefined;
    }
  }

  private counts(id: string) {
    return {
      tools: orEmpty(() => this.engine.listTools(id)).length,
      resources: orEmpty(() => this.engine.listResources(id)).length,
      prompts: orEmpty(() => this.engine.listPrompts(id)).length,
    };
  }
}

/** A catalog list of a registered server the engine does not run (yet): empty instead of an error. */
export function orEmpty<T>(list: () => T[]): T[] {
  try {
    return list();
  } catch {
    return [];
  }
}

function endpointOf(entry: ServerEntry): string {
  if (entry.type === 'stdio') return `stdio://${[entry.command, ...entry.args].join(' ')}`;
  return entry.url ? maskUrl(entry.url) : '';
}

function maskValues(values: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(Object.keys(values).map((k) => [k, MASK]));
}

const round = (ms: number) => Math.round(ms * 100) / 100;
