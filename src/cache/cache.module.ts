import KeyvRedis from '@keyv/redis';
import { CacheModule as NestCacheModule } from '@nestjs/cache-manager';
import { Global, Module } from '@nestjs/common';
import { APP_CONFIG } from 'src/config/config.module';
import type { AppConfig } from 'src/config/config.schema';
import Keyv from 'keyv';
import { failoverKeyv } from './failover-keyv';
import { RedisConnection } from './redis-connection';

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
