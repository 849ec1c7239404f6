import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { AppException } from 'src/common/errors/app.exception';
import { APP_CONFIG } from 'src/config/config.module';
import type { AppConfig } from 'src/config/config.schema';
import { CLASH, virtualServerBodySchema, type VirtualServerBody } from 'src/config/virtual-server.schema';
import { PgNotifications } from 'src/database/pg-notifications';
import { errorMessage } from 'src/mcp/connection';
import { McpEngine } from 'src/mcp/mcp-engine';
import { problemsOf } from 'src/policy/policy-rules.service';
import { ServerRegistryService } from 'src/servers/registry/server-registry.service';
import { ServersService } from 'src/servers/servers.service';
import { type CatalogReader, definitionProblems, type VirtualServer } from './virtual-composition';
import type { VirtualServerEntity } from './virtual-server.entity';
import {
  DuplicateVirtualServerError,
  VIRTUAL_SERVERS_CHANNEL,
  VirtualServersRepository,
  type NewVirtualServer,
} from './virtual-servers.repository';

/**
 * The virtual servers (ADR 0009): those of `mcp.virtual-servers` (fixed at start) and those of `virtual_servers` (the
 * API). Like the policy rules, every write to the table sends `NOTIFY globalmcp_virtual_servers` in its transaction;
 * every replica LISTENs and reloads the table (again after its LISTEN connection comes back), and swaps the whole map,
 * so a request never sees half of a change. A definition is checked before anything is written: a refused one stores
 * nothing.
 */
@Injectable()
export class VirtualServersService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('VirtualServers');
  private readonly configServers: ReadonlyMap<string, VirtualServer>;
  private current: ReadonlyMap<string, VirtualServer>;
  private readonly listeners = new Set<() => void>();
  private unsubscribe?: () => void;
  private reloading: Promise<void> | undefined;
  private reloadAgain = false;

  /** The engine's catalog as the composition reads it. */
  readonly catalog: CatalogReader;

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly repository: VirtualServersRepository,
    private readonly notifications: PgNotifications,
    private readonly engine: McpEngine,
    private readonly servers: ServersService,
    registry: ServerRegistryService,
  ) {
    this.configServers = new Map(
      Object.entries(config.mcp.virtualServers).map(([id, def]) => [id, { id, ...def, source: 'config' as const }]),
    );
    this.current = this.configServers;
    this.catalog = {
      tools: (id) => engine.listTools(id).map((ref) => ref.tool),
      prompts: (id) => engine.listPrompts(id),
      resources: (id) => engine.listResources(id),
      templates: (id) => engine.listResourceTemplates(id),
      known: (id) => {
        try {
          return engine.getServerState(id).status === 'active';
        } catch {
          return false;
        }
      },
    };
    // A real server registered through the API may not take a virtual server's id (nor the other way round).
    registry.reserveIds((id) => this.current.has(id));
    servers.addMcpViews((id) => this.current.has(id));
  }

  async onApplicationBootstrap(): Promise<void> {
    this.unsubscribe = await this.notifications.subscribe(VIRTUAL_SERVERS_CHANNEL, {
      onPayload: () => void this.reload(),
      onReconnected: () => void this.reload(),
    });
    await this.load();
  }

  onApplicationShutdown(): void {
    this.unsubscribe?.();
  }

  /** Told after every change of the definitions on this replica (its own writes and the others' notices). */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  has(id: string): boolean {
    return this.current.has(id);
  }

  get(id: string): VirtualServer | undefined {
    return this.current.get(id);
  }

  /** 404 unless a virtual server of that id exists. */
  find(id: string): VirtualServer {
    const def = this.current.get(id);
    if (!def) throw AppException.notFound(`Virtual server '${id}'`, { virtual_server: id });
    return def;
  }

  list(): VirtualServer[] {
    return [...this.current.values()].sort((a, b) => a.id.localeCompare(b.id));
  }

  // ------------------------------------------------------------------ API

  async create(body: unknown): Promise<VirtualServer> {
    const def = this.parse(body);
    this.assertNotConfig(def.id);
    if (this.current.has(def.id)) throw duplicate(def.id);
    this.check(def);
    try {
      await this.repository.insert(toRow(def));
    } catch (error) {
      if (error instanceof DuplicateVirtualServerError) throw duplicate(def.id);
      throw error;
    }
    await this.reload();
    return this.find(def.id);
  }

  async replace(id: string, body: unknown): Promise<VirtualServer> {
    const withId = isObject(body) && body.id === undefined ? { ...body, id } : body;
    const def = this.parse(withId);
    if (def.id !== id) {
      throw AppException.invalid(`The body's id '${def.id}' is not the path's '${id}'`, { virtual_server: id });
    }
    this.assertNotConfig(id);
    this.check(def);
    if (!(await this.repository.update(toRow(def)))) throw AppException.notFound(`Virtual server '${id}'`, { id });
    await this.reload();
    return this.find(id);
  }

  async remove(id: string): Promise<VirtualServer> {
    this.assertNotConfig(id);
    const def = this.find(id);
    if (!(await this.repository.delete(id))) throw AppException.notFound(`Virtual server '${id}'`, { id });
    await this.reload();
    return def;
  }

  private parse(body: unknown): VirtualServer {
    const parsed = virtualServerBodySchema.safeParse(body);
    if (!parsed.success) {
      const fields = problemsOf(parsed.error);
      const summary = fields.map((f) => `${f.field}: ${f.problems.join(', ')}`).join('; ');
      // Two members under one name is a clash (409), as when patterns expanded against the catalog clash.
      const clash = parsed.error.issues.every((issue) => issue.message.includes(CLASH));
      if (clash) throw AppException.conflict(`Virtual server: ${summary}`, { fields });
      throw AppException.invalid(`Invalid virtual server: ${summary}`, { fields });
    }
    return fromBody(parsed.data);
  }

  /** Registry and catalog rules (virtual-composition.ts): a name clash is a 409, anything else a 400. */
  private check(def: VirtualServer): void {
    const problems = definitionProblems(def, new Set(this.servers.scope()), this.catalog);
    if (problems.length === 0) return;
    const fields = problems.map((p) => ({ field: p.field, problems: [p.problem] }));
    const message = `Virtual server '${def.id}': ${problems.map((p) => `${p.field}: ${p.problem}`).join('; ')}`;
    if (problems.some((p) => p.kind === 'conflict')) throw AppException.conflict(message, { fields });
    throw AppException.invalid(message, { fields });
  }

  private assertNotConfig(id: string): void {
    if (this.configServers.has(id)) {
      throw AppException.conflict(
        `Virtual server '${id}' is defined in the configuration (mcp.virtual-servers) and is read-only through the API`,
        { virtual_server: id, source: 'config' },
      );
    }
  }

  // ------------------------------------------------------------------ loading

  /** At start a failure is fatal: the stored definitions are part of what the gateway serves. */
  private async load(): Promise<void> {
    const rows = await this.repository.listAll();
    const next = new Map(this.configServers);
    for (const row of rows) if (!next.has(row.id)) next.set(row.id, fromRow(row));
    this.current = next;
    for (const listener of this.listeners) listener();
  }

  /** Reloads the table; reloads asked for while one runs are folded into one more. */
  private reload(): Promise<void> {
    if (this.reloading) {
      this.reloadAgain = true;
      return this.reloading;
    }
    this.reloading = (async () => {
      try {
        do {
          this.reloadAgain = false;
          await this.load();
        } while (this.reloadAgain);
      } catch (error) {
        this.logger.error(`reloading the virtual servers failed: ${errorMessage(error)}`);
      } finally {
        this.reloading = undefined;
      }
    })();
    return this.reloading;
  }
}

function duplicate(id: string): AppException {
  return AppException.conflict(`Virtual server '${id}' already exists`, { virtual_server: id });
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function fromBody(body: VirtualServerBody): VirtualServer {
  return {
    id: body.id,
    ...(body.name !== undefined ? { name: body.name } : {}),
    ...(body.description !== undefined ? { description: body.description } : {}),
    source: 'api',
    tools: body.tools,
    prompts: body.prompts,
    resources: body.resources,
  };
}

function toRow(def: VirtualServer): NewVirtualServer {
  return {
    id: def.id,
    name: def.name ?? null,
    description: def.description ?? null,
    definition: { tools: def.tools, prompts: def.prompts, resources: def.resources },
  };
}

function fromRow(row: VirtualServerEntity): VirtualServer {
  return {
    id: row.id,
    ...(row.name !== null ? { name: row.name } : {}),
    ...(row.description !== null ? { description: row.description } : {}),
    source: 'api',
    tools: row.definition.tools ?? [],
    prompts: row.definition.prompts ?? [],
    resources: row.definition.resources ?? [],
  };
}
