import KeyvRedis, { createClient, type RedisClientType } from '@keyv/redis';
import { CacheModule as NestCacheModule } from '@nestjs/cache-manager';
import { Global, Inject, Injectable, Logger, Module, type OnApplicationShutdown } from '@nestjs/common';
import { APP_CONFIG } from 'src/config/config.module';
import type { AppConfig } from 'src/config/config.schema';
import Keyv from 'keyv';
import { failoverKeyv } from './failover-keyv';
import { maskRedisUrl, redisUrlFrom } from './redis-connection';

/**
 * The one Redis connection of the process (cache, rate-limit buckets, MCP sessions and bus), or null when Redis is
 * not configured. Redis being down never stops the gateway, at start or later: the client reconnects in the
 * background, and while it is away every user of it falls back to this process (buckets and caches in memory,
 * sessions on this replica). The outage and the recovery are logged once each, here, and `redis_up` says it.
 */
@Injectable()
export class RedisConnection implements OnApplicationShutdown {
  private readonly logger = new Logger('Redis');
  private readonly listeners = new Set<(up: boolean) => void>();
  readonly client: RedisClientType | null;
  readonly url: string | undefined;
  private wasUp = false;
  private downLogged = false;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    this.url = redisUrlFrom(config);
    if (!this.url) {
      this.client = null;
      return;
    }
    const timeout = config.spring.data.redis.timeout;
    this.client = createClient({
      url: this.url,
      socket: { connectTimeout: timeout, reconnectStrategy: (retries: number) => Math.min(100 * 2 ** retries, 5000) },
      // Commands fail at once while disconnected, so callers fall back instead of waiting for a reconnect.
      disableOfflineQueue: true,
    });
    const where = maskRedisUrl(this.url);
    this.client.on('error', (error: Error) => {
      if (!this.downLogged) {
        this.logger.warn(
          `Redis at ${where} unavailable (${error.message}): rate limits are per replica, caches in memory and ` +
            'MCP sessions on the replica that holds them until Redis is back',
        );
      }
      this.downLogged = true;
      this.setUp(false);
    });
    this.client.on('end', () => this.setUp(false));
    this.client.on('ready', () => {
      this.logger.log(
        this.downLogged
          ? `Redis at ${where} answers again: buckets, caches and MCP sessions are shared across replicas again`
          : `Connected to Redis at ${where}`,
      );
      this.downLogged = false;
      this.setUp(true);
    });
    this.client.connect().catch(() => undefined);
  }

  /** Whether commands can be sent now (connected and ready). */
  get isUp(): boolean {
    return this.client?.isReady ?? false;
  }

  /** Called with the new state each time the connection comes up or goes down. */
  onStateChange(listener: (up: boolean) => void): void {
    this.listeners.add(listener);
  }

  async onApplicationShutdown(): Promise<void> {
    this.listeners.clear();
    if (this.client?.isOpen) await this.client.close().catch(() => undefined);
  }

  private setUp(up: boolean): void {
    if (up === this.wasUp) return;
    this.wasUp = up;
    for (const listener of this.listeners) listener(up);
  }
}

/**
 * `@nestjs/cache-manager` over cache-manager 7 and Keyv: `@keyv/redis` when Redis is configured (the store that
 * really writes to Redis with this cache-manager major; `cache-manager-redis-yet` targets cache-manager 5 and
 * silently keeps data in memory here), in memory while it is unreachable (failover-keyv.ts) or not configured. `spring.cache.redis.time-to-live` is the default TTL.
 */
@Global()
@Module({ providers: [RedisConnection], exports: [RedisConnection] })
export class RedisModule {}

@Global()
@Module({
  imports: [
    RedisModule,
    NestCacheModule.registerAsync({
      isGlobal: true,
      imports: [RedisModule],
      inject: [APP_CONFIG, RedisConnection],
      useFactory: (config: AppConfig, redis: RedisConnection) => ({
        ttl: config.spring.cache.redis.timeToLive,
        stores: redis.client
          ? [
              failoverKeyv(
                // As @nestjs/cache-manager wraps a bare adapter (its keys are unchanged by the failover).
                new Keyv({
                  store: new KeyvRedis(redis.client, {
                    namespace: config.spring.cache.redis.keyPrefix.replace(/:$/, ''),
                    throwOnErrors: false,
                  }),
                  ttl: config.spring.cache.redis.timeToLive,
                  namespace: undefined,
                }),
                () => redis.isUp,
              ),
            ]
          : undefined,
      }),
    }),
  ],
  exports: [RedisModule],
})
export class CacheModule {}
