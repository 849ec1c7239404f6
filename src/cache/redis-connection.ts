import type { AppConfig } from 'src/config/config.schema';

/** The Redis URL the configuration describes (`spring.data.redis.url`/`REDIS_URL`, else host/port/...), or none. */
export function redisUrlFrom(config: AppConfig): string | undefined {
  const redis = config.spring.data.redis;
  const type = config.spring.cache.type?.toLowerCase();
  if (type === 'none' || type === 'simple') return undefined;
  if (redis.url) return redis.url;
  if (!redis.host) return undefined;
  const auth = redis.password
    ? `${encodeURIComponent(redis.username ?? '')}:${encodeURIComponent(redis.password)}@`
    : '';
  return `redis://${auth}${redis.host}:${redis.port}/${redis.database}`;
}

export function maskRedisUrl(url: string): string {
  return url.replace(/\/\/([^:@/]*):([^@/]*)@/, '//$1:***@');
}
