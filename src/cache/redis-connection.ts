import { createClient, type RedisClientType } from '@keyv/redis';
import { Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { APP_CONFIG } from 'src/config/config.module';
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
