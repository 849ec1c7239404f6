import type { Prompt, Resource, ResourceTemplate, Tool } from '@modelcontextprotocol/sdk/types.js';
import {
  ListPromptsResultSchema,
  ListResourceTemplatesResultSchema,
  ListResourcesResultSchema,
  ListToolsResultSchema,
} from '@modelcontextprotocol/sdk/types.js';
import type { McpConnection } from './connection';
import { errorMessage } from './connection';
import { EngineError, EngineErrorCode } from './engine-error';
import type { EngineLogger } from './engine-logger';

export type CatalogKind = 'tools' | 'resources' | 'resourceTemplates' | 'prompts';
export const ALL_CATALOG_KINDS: readonly CatalogKind[] = ['tools', 'resources', 'resourceTemplates', 'prompts'];

/** What one server offers. A kind the server does not advertise stays empty. */
export interface ServerCatalog {
  tools: Tool[];
  resources: Resource[];
  resourceTemplates: ResourceTemplate[];
  prompts: Prompt[];
  /** Bumped on every refresh that changed something. */
  version: number;
  updatedAt: Date;
  /** Kinds fetched at least once (a kind absent here is unknown, not empty). */
  loaded: CatalogKind[];
}

/**
 * Optional shared cache behind the in-memory catalog (Redis via cache-manager, later). The in-memory copy stays the
 * source of truth for this process and serves the hot path synchronously; the cache is written through and can seed
 * a fresh process (`Catalog.hydrate`).
 */
export interface CatalogCache {
  get(serverId: string): Promise<ServerCatalog | undefined>;
  set(serverId: string, catalog: ServerCatalog): Promise<void>;
  delete(serverId: string): Promise<void>;
}

const MAX_PAGES = 1_000;

const LISTS = {
  tools: { method: 'tools/list', schema: ListToolsResultSchema, key: 'tools', capability: 'tools' },
  resources: { method: 'resources/list', schema: ListResourcesResultSchema, key: 'resources', capability: 'resources' },
  resourceTemplates: {
    method: 'resources/templates/list',
    schema: ListResourceTemplatesResultSchema,
    key: 'resourceTemplates',
    capability: 'resources',
  },
  prompts: { method: 'prompts/list', schema: ListPromptsResultSchema, key: 'prompts', capability: 'prompts' },
} as const;

/** The notification that invalidates each kind. */
export const LIST_CHANGED: Record<string, CatalogKind[]> = {
  'notifications/tools/list_changed': ['tools'],
  'notifications/resources/list_changed': ['resources', 'resourceTemplates'],
  'notifications/prompts/list_changed': ['prompts'],
};

/**
 * Tools, resources, resource templates and prompts per server: discovered on connect (every page, following
 * `nextCursor`), refreshed on `notifications/*\/list_changed` and on reconnect. Concurrent refreshes of a server are
 * coalesced: one runs, one more is queued with the union of the kinds asked for.
 */
export class Catalog {
  private readonly servers = new Map<string, ServerCatalog>();
  private readonly running = new Map<string, Promise<void>>();
  private readonly queued = new Map<string, Set<CatalogKind>>();

  constructor(
    private readonly logger: EngineLogger,
    private readonly onChange: (serverId: string, kinds: CatalogKind[]) => void = () => undefined,
    private readonly cache?: CatalogCache,
  ) {}

  get(serverId: string): ServerCatalog | undefined {
    return this.servers.get(serverId);
  }

  serverIds(): string[] {
    return [...this.servers.keys()];
  }

  /** Servers offering a tool of that name. */
  findTool(name: string): { serverId: string; tool: Tool }[] {
    const out: { serverId: string; tool: Tool }[] = [];
    for (const [serverId, c] of this.servers) {
      const tool = c.tools.find((t) => t.name === name);
      if (tool) out.push({ serverId, tool });
    }
    return out;
  }

  tool(serverId: string, name: string): Tool | undefined {
    return this.servers.get(serverId)?.tools.find((t) => t.name === name);
  }

  /** The server's tool of that name; NOT_FOUND without one. */
  requireTool(serverId: string, name: string): Tool {
    const tool = this.tool(serverId, name);
    if (!tool) throw toolNotFound(serverId, name);
    return tool;
  }

  /** The one server offering a tool of that name among `servers`: NOT_FOUND when none does, AMBIGUOUS when several. */
  soleTool(name: string, servers: { has(serverId: string): boolean }): { serverId: string; tool: Tool } {
    const hits = this.findTool(name).filter((h) => servers.has(h.serverId));
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

  /**
   * What a call may be refused for before it is sent: the tool (or prompt) is missing from a catalog that is known.
   * Undefined while the server's tools are not known yet (the upstream decides); NOT_FOUND when they are and lack it.
   */
  knownTool(serverId: string, name: string): Tool | undefined {
    const cat = this.servers.get(serverId);
    if (!cat?.loaded.includes('tools')) return undefined;
    return this.requireTool(serverId, name);
  }

  /** NOT_FOUND for a prompt the server's known prompt list lacks; nothing while the list is not known yet. */
  checkPrompt(serverId: string, name: string): void {
    const cat = this.servers.get(serverId);
    if (cat?.loaded.includes('prompts') && !cat.prompts.some((p) => p.name === name)) {
      throw new EngineError(EngineErrorCode.NOT_FOUND, `Prompt '${name}' not found on server '${serverId}'`, {
        serverId,
        prompt: name,
      });
    }
  }

  /** Seeds a server's entry from the shared cache (before its first connect). */
  async hydrate(serverId: string): Promise<void> {
    const cached = await this.cache?.get(serverId).catch(() => undefined);
    if (cached && !this.servers.has(serverId)) this.servers.set(serverId, cached);
  }

  remove(serverId: string): void {
    this.servers.delete(serverId);
    this.queued.delete(serverId);
    void this.cache?.delete(serverId).catch(() => undefined);
  }

  /** Refreshes the given kinds through `connection`; resolves when done (errors are logged, the old entry kept). */
  refresh(
    serverId: string,
    connection: McpConnection,
    kinds: readonly CatalogKind[],
    timeoutMs: number,
  ): Promise<void> {
    const current = this.running.get(serverId);
    if (current) {
      const set = this.queued.get(serverId) ?? new Set<CatalogKind>();
      kinds.forEach((k) => set.add(k));
      this.queued.set(serverId, set);
      return current.then(() => this.running.get(serverId));
    }
    const run = this.doRefresh(serverId, connection, kinds, timeoutMs).finally(() => {
      this.running.delete(serverId);
      const next = this.queued.get(serverId);
      if (next) {
        this.queued.delete(serverId);
        void this.refresh(serverId, connection, [...next], timeoutMs);
      }
    });
    this.running.set(serverId, run);
    return run;
  }

  private async doRefresh(
    serverId: string,
    connection: McpConnection,
    kinds: readonly CatalogKind[],
    timeoutMs: number,
  ): Promise<void> {
    const caps = connection.serverCapabilities ?? {};
    const base: ServerCatalog = this.servers.get(serverId) ?? {
      tools: [],
      resources: [],
      resourceTemplates: [],
      prompts: [],
      version: 0,
      updatedAt: new Date(),
      loaded: [],
    };
    const next: ServerCatalog = { ...base, loaded: [...base.loaded] };
    const changed: CatalogKind[] = [];
    await Promise.all(
      kinds.map(async (kind) => {
        const spec = LISTS[kind];
        if (!caps[spec.capability]) {
          if (!next.loaded.includes(kind)) next.loaded.push(kind);
          return;
        }
        try {
          const items = await this.listAll(connection, spec.method, spec.schema, spec.key, timeoutMs);
          (next as unknown as Record<string, unknown[]>)[spec.key] = items;
          if (!next.loaded.includes(kind)) next.loaded.push(kind);
          changed.push(kind);
        } catch (e) {
          this.logger.warn(`[${serverId}] could not list ${kind}: ${errorMessage(e)}`, 'McpCatalog');
        }
      }),
    );
    if (!connection.isOpen && changed.length === 0) return;
    next.version = base.version + 1;
    next.updatedAt = new Date();
    this.servers.set(serverId, next);
    void this.cache?.set(serverId, next).catch(() => undefined);
    if (changed.length) this.onChange(serverId, changed);
  }

  private async listAll(
    connection: McpConnection,
    method: string,
    schema: (typeof LISTS)[CatalogKind]['schema'],
    key: string,
    timeoutMs: number,
  ): Promise<unknown[]> {
    const items: unknown[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < MAX_PAGES; page++) {
      const result = await connection.request<Record<string, unknown>>(
        method,
        cursor ? { cursor } : undefined,
        schema,
        { timeoutMs },
      );
      items.push(...((result[key] as unknown[] | undefined) ?? []));
      const nextCursor = result.nextCursor as string | undefined;
      if (!nextCursor || nextCursor === cursor) break;
      cursor = nextCursor;
    }
    return items;
  }
}

function toolNotFound(serverId: string, name: string): EngineError {
  return new EngineError(EngineErrorCode.NOT_FOUND, `Tool '${name}' not found on server '${serverId}'`, {
    serverId,
    tool: name,
  });
}
