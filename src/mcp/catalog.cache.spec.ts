import { createCache } from 'cache-manager';
import type { ServerCatalog } from './catalog';
import { CacheManagerCatalogCache } from './catalog.cache';

const catalog: ServerCatalog = {
  tools: [{ name: 'echo', inputSchema: { type: 'object' } }],
  resources: [{ uri: 'demo://a', name: 'a' }],
  resourceTemplates: [{ uriTemplate: 'demo://{x}', name: 'x' }],
  prompts: [{ name: 'greet' }],
  version: 3,
  updatedAt: new Date('2026-11-27T08:00:00Z'),
  loaded: ['tools', 'resources', 'resourceTemplates', 'prompts'],
};

describe('CacheManagerCatalogCache', () => {
  it('writes a catalog under the three cache names and reads it back whole', async () => {
    const cache = createCache();
    const catalogCache = new CacheManagerCatalogCache(cache);
    await catalogCache.set('everything', catalog);
    expect(await cache.get('tool-definitions:everything')).toEqual(catalog.tools);
    expect(await cache.get('resource-metadata:everything')).toEqual({
      resources: catalog.resources,
      resourceTemplates: catalog.resourceTemplates,
    });
    expect(await cache.get('server-capabilities:everything')).toMatchObject({ version: 3, prompts: catalog.prompts });
    expect(await catalogCache.get('everything')).toEqual(catalog);
  });

  it('answers undefined when any part is missing, and deletes all parts', async () => {
    const cache = createCache();
    const catalogCache = new CacheManagerCatalogCache(cache);
    expect(await catalogCache.get('nope')).toBeUndefined();
    await catalogCache.set('everything', catalog);
    await cache.del('resource-metadata:everything');
    expect(await catalogCache.get('everything')).toBeUndefined();
    await catalogCache.delete('everything');
    expect(await cache.get('tool-definitions:everything')).toBeUndefined();
  });
});
