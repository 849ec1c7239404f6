import { Injectable, type OnModuleInit } from '@nestjs/common';
import { InjectMetric, makeGaugeProvider } from '@willsoto/nestjs-prometheus';
import type { Gauge } from 'prom-client';
import { RedisConnection } from 'src/cache/redis-connection';
import { REDIS_UP } from './metric-names';

export const redisUpGaugeProvider = makeGaugeProvider({
  name: REDIS_UP,
  help: '1 while the Redis connection is up, 0 while it is down or Redis is not configured (each replica then serves with its own buckets, caches and sessions)',
});

/** `redis_up`, set when the connection changes state: an outage is one series flipping, not a log line a request. */
@Injectable()
export class RedisMetrics implements OnModuleInit {
  constructor(
    private readonly redis: RedisConnection,
    @InjectMetric(REDIS_UP) private readonly up: Gauge,
  ) {}

  onModuleInit(): void {
    this.up.set(this.redis.isUp ? 1 : 0);
    this.redis.onStateChange((up) => this.up.set(up ? 1 : 0));
  }
}
