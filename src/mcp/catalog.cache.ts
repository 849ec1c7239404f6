import type { CatalogCache, ServerCatalog } from './catalog';

/**
 * What the adapter uses of a key-value cache: cache-manager's `Cache` (Redis or memory, provided by src/cache)
 * fits it. Written here so the engine depends on no Nest package and not on the module that configures the store.
 */
export interface KeyValueCache {
  get<T>(key: string): Promise<T | undefined>;
  set<T>(key: string, value: T): Promise<unknown>;
  del(key: string): Promise<unknown>;
}

/** The cache names of the Java edition's `spring.cache.cache-names`, kept so operators recognise the keys. */
export const CATALOG_CACHE_NAMES = {
  capabilities: 'server-capabilities',
  tools: 'tool-definitions',
  resources: 'resource-metadata',
} as const;

interface CapabilitiesEntry {
  prompts: ServerCatalog['prompts'];
  version: number;
  updatedAt: string;
  loaded: ServerCatalog['loaded'];
}

/**
 * The engine's discovered catalog written through to cache-manager (Redis when configured): tools under
 * `tool-definitions`, resources and templates under `resource-metadata`, the rest under `server-capabilities`.
 * A new replica or a restart serves a server's catalog from here until its own discovery completes. Entries are
 * per server id; what a caller may see is filtered when read, never when cached.
 */
export class CacheManagerCatalogCache implements CatalogCache {
  constructor(private readonly cache: KeyValueCache) {}

  async get(serverId: string): Promise<ServerCatalog | undefined> {
    const [capabilities, tools, resources] = await Promise.all([
      this.cache.get<CapabilitiesEntry>(key(CATALOG_CACHE_NAMES.capabilities, serverId)),
      this.cache.get<ServerCatalog['tools']>(key(CATALOG_CACHE_NAMES.tools, serverId)),
      this.cache.get<Pick<ServerCatalog, 'resources' | 'resourceTemplates'>>(
        key(CATALOG_CACHE_NAMES.resources, serverId),
      ),
    ]);
    if (!capabilities || !tools || !resources) return undefined;
    return {
      tools,
      resources: resources.resources,
      resourceTemplates: resources.resourceTemplates,
      prompts: capabilities.prompts,
      version: capabilities.version,
      updatedAt: new Date(capabilities.updatedAt),
      loaded: capabilities.loaded,
    };
  }

  async set(serverId: string, catalog: ServerCatalog): Promise<void> {
    const capabilities: CapabilitiesEntry = {
      prompts: catalog.prompts,
      version: catalog.version,
      updatedAt: catalog.updatedAt.toISOString(),
      loaded: catalog.loaded,
    };
    await Promise.all([
      this.cache.set(key(CATALOG_CACHE_NAMES.tools, serverId), catalog.tools),
      this.cache.set(key(CATALOG_CACHE_NAMES.resources, serverId), {
        resources: catalog.resources,
        resourceTemplates: catalog.resourceTemplates,
      }),
      this.cache.set(key(CATALOG_CACHE_NAMES.capabilities, serverId), capabilities),
    ]);
  }

  async delete(serverId: string): Promise<void> {
    await Promise.all(Object.values(CATALOG_CACHE_NAMES).map((name) => this.cache.del(key(name, serverId))));
  }
}

const key = (cacheName: string, serverId: string) => `${cacheName}:${serverId}`;
