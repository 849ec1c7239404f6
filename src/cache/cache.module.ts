import KeyvRedis, { createClient, type RedisClientType } from '@keyv/redis';
import { CacheModule as NestCacheModule } from '@nestjs/cache-manager';
import { Global, Inject, Injectable, Logger, Module, type OnApplicationShutdown } from '@nestjs/common';
import { APP_CONFIG } from 'src/config/config.module';
import type { AppConfig } from 'src/config/config.schema';
import { maskRedisUrl, redisUrlFrom } from './redis-connection';

/**
 * The one Redis connection of the process (cache, and later rate-limit buckets), or null when Redis is not
 * configured. Redis being down never stops the gateway: the client reconnects in the background.
 */
@Injectable()
export class RedisConnection implements OnApplicationShutdown {
  private readonly logger = new Logger('Redis');
  readonly client: RedisClientType | null;
  readonly url: string | undefined;

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
      disableOfflineQueue: true,
    });
    let downLogged = false;
    this.client.on('error', (error: Error) => {
      if (!downLogged) this.logger.warn(`Redis at ${maskRedisUrl(this.url!)} unavailable: ${error.message}`);
      downLogged = true;
    });
    this.client.on('ready', () => {
      downLogged = false;
      this.logger.log(`Connected to Redis at ${maskRedisUrl(this.url!)}`);
    });
    this.client.connect().catch(() => undefined);
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.client?.isOpen) await this.client.close().catch(() => undefined);
  }
}

/**
 * `@nestjs/cache-manager` over cache-manager 7 and Keyv: `@keyv/redis` when Redis is configured (the store that
 * really writes to Redis with this cache-manager major; `cache-manager-redis-yet` targets cache-manager 5 and
 * silently keeps data in memory here), in memory otherwise. `spring.cache.redis.time-to-live` is the default TTL.
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
              new KeyvRedis(redis.client, {
                namespace: config.spring.cache.redis.keyPrefix.replace(/:$/, ''),
                throwOnErrors: false,
              }),
            ]
          : undefined,
      }),
    }),
  ],
  exports: [RedisModule],
})
export class CacheModule {}
