import { CACHE_MANAGER, type Cache } from '@nestjs/cache-manager';
import { Inject, Injectable, type OnModuleInit, Optional } from '@nestjs/common';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import type { Counter } from 'prom-client';
import { APP_CONFIG } from 'src/config/config.module';
import type { AppConfig } from 'src/config/config.schema';
import { CACHE_GETS } from './metric-names';

export type CacheResult = 'hit' | 'miss';

/** Label of keys with no `<cache name>:` prefix. */
export const DEFAULT_CACHE_LABEL = 'default';
/** Distinct `cache` label values kept before new ones are counted as `other` (keys are not always ours). */
const MAX_CACHE_LABELS = 32;
const CACHE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const INSTRUMENTED = Symbol('globalmcp.cacheMetrics');

/**
 * `cache_gets_total{cache,result="hit"|"miss"}`: every `get`/`mget` of the cache-manager instance (memory or
 * Redis) is counted, the cache being the key's prefix before the first `:` (`tool-definitions:<server>` ->
 * `tool-definitions`, the Java edition's cache names). cache-manager 7 emits a `get` event on hits only, never on
 * misses, so its `get`/`mget` are wrapped instead. Code reading another cache (its own Map, say) uses
 * `record()` or `countGet()`.
 */
@Injectable()
export class CacheMetrics implements OnModuleInit {
  private readonly labels = new Set<string>();

  constructor(
    @InjectMetric(CACHE_GETS) private readonly gets: Counter<'cache' | 'result'>,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Optional() @Inject(CACHE_MANAGER) private readonly cache?: Cache,
  ) {}

  onModuleInit(): void {
    // The configured cache names show up at 0, so dashboards have series before the first read.
    for (const name of this.config.spring.cache.cacheNames) {
      const label = this.label(name);
      this.gets.inc({ cache: label, result: 'hit' }, 0);
      this.gets.inc({ cache: label, result: 'miss' }, 0);
    }
    if (this.cache) this.instrument(this.cache);
  }

  record(cache: string, result: CacheResult, count = 1): void {
    this.gets.inc({ cache: this.label(cache), result }, count);
  }

  /** Runs a read of a cache of your own and counts it: `undefined` is a miss. */
  async countGet<T>(cache: string, read: () => Promise<T | undefined> | T | undefined): Promise<T | undefined> {
    const value = await read();
    this.record(cache, value === undefined ? 'miss' : 'hit');
    return value;
  }

  /** The `cache` label of a key: its `name:` prefix, or `default`. */
  cacheOfKey(key: string): string {
    const at = key.indexOf(':');
    return at > 0 ? this.label(key.slice(0, at)) : DEFAULT_CACHE_LABEL;
  }

  private label(name: string): string {
    if (!CACHE_NAME.test(name)) return 'other';
    if (this.labels.has(name)) return name;
    if (this.labels.size >= MAX_CACHE_LABELS) return 'other';
    this.labels.add(name);
    return name;
  }

  private instrument(cache: Cache): void {
    const target = cache as Cache & { [INSTRUMENTED]?: true };
    if (target[INSTRUMENTED]) return;
    target[INSTRUMENTED] = true;
    const get = cache.get.bind(cache);
    const mget = cache.mget.bind(cache);
    cache.get = async <T>(key: string): Promise<T | undefined> => {
      const value = await get<T>(key);
      this.record(this.cacheOfKey(key), value === undefined ? 'miss' : 'hit');
      return value;
    };
    cache.mget = async <T>(keys: string[]): Promise<(T | undefined)[]> => {
      const values = await mget<T>(keys);
      values.forEach((value, i) => this.record(this.cacheOfKey(keys[i]!), value === undefined ? 'miss' : 'hit'));
      return values;
    };
  }
}
