import Keyv from 'keyv';
import { LRUCache } from 'lru-cache';

/** Entries the in-memory stand-in keeps while Redis is away (least recently used go first). */
const FALLBACK_MAX_ENTRIES = 10_000;

/**
 * A Keyv store for cache-manager that is `shared` (Redis) while `sharedUp()` holds and an in-process LRU while it
 * does not, so a Redis outage turns shared caching into per-replica caching instead of into misses or errors. What
 * was written during the outage stays in this process only; when Redis answers again the memory is dropped (it could
 * be older than what other replicas wrote meanwhile) and reads and writes go to Redis again.
 *
 * A Proxy rather than a subclass: cache-manager and `@nestjs/cache-manager` take a Keyv instance and call whatever
 * of its methods they need (get, getMany, set, setMany, delete, clear, disconnect, raw reads for `ttl`).
 */
export function failoverKeyv(shared: Keyv, sharedUp: () => boolean): Keyv {
  const memory = new Keyv({ store: new LRUCache<string, object>({ max: FALLBACK_MAX_ENTRIES }) });
  let usedMemory = false;
  const active = (): Keyv => {
    if (!sharedUp()) {
      usedMemory = true;
      return memory;
    }
    if (usedMemory) {
      usedMemory = false;
      void memory.clear();
    }
    return shared;
  };
  return new Proxy(shared, {
    get(_target, property) {
      const store = active();
      const value: unknown = Reflect.get(store, property);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(store) : value;
    },
  });
}
