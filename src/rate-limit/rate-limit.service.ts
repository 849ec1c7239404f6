import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import type { FastifyReply } from 'fastify';
import type { Counter } from 'prom-client';
import { RedisConnection } from 'src/cache/redis-connection';
import { AppException } from 'src/common/errors/app.exception';
import { ErrorCode } from 'src/common/errors/error-code';
import { APP_CONFIG } from 'src/config/config.module';
import type { AppConfig } from 'src/config/config.schema';
import { RATE_LIMIT_REJECTIONS } from 'src/metrics/metric-names';
import { RedisBucketStore } from './redis-bucket.store';
import { MemoryBucketStore, type BucketLimits, type TakeResult } from './token-bucket';

export type { BucketLimits } from './token-bucket';

const DEFAULT_TIER = 'default';

/**
 * Whose bucket a request draws from: a stable caller id and its tier (null: the default limits). The authenticated
 * principal is one; the limiter needs nothing else of it, so it does not depend on the auth module that calls it.
 */
export interface RateLimitSubject {
  id: string;
  tier: string | null;
}

/**
 * Per-principal token buckets: `burst-capacity` requests at once, refilled continuously at `requests-per-minute`
 * (token-bucket.ts). With Redis, one atomic Lua script per request (redis-bucket.store.ts), so every replica
 * draws from the same bucket; without Redis, in memory. While Redis is unreachable the buckets of this process
 * take over (fail to memory: limits hold per replica, so N replicas let up to N times a limit through, and no
 * request fails because of the store); they are shared again as soon as Redis answers, without a restart.
 *
 * Why not `@nestjs/throttler`: its storage interface counts hits in a fixed window (`increment(key, ttl, limit,
 * blockDuration)`), so continuous refill cannot be expressed through it; its Redis storage
 * (`@nest-lab/throttler-storage-redis`) declares Nest <= 11 and, with Redis down, turns every route into a 500;
 * and its limits are per route, not per caller tier resolved after authentication. Why not
 * `rate-limiter-flexible` (used before): its stores are fixed windows too (a full burst again at each window
 * boundary, twice the burst across one), with no token bucket. The bucket itself is a few lines; what matters,
 * atomicity across replicas, is Redis' (one script).
 */
@Injectable()
export class RateLimitService {
  private readonly logger = new Logger('RateLimit');
  private readonly enabled: boolean;
  private readonly memory = new MemoryBucketStore();
  private readonly shared: RedisBucketStore | null;
  private failing = false;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly redis: RedisConnection,
    @InjectMetric(RATE_LIMIT_REJECTIONS) private readonly rejections: Counter<'tier'>,
  ) {
    this.enabled = config.mcp.security.rateLimiting.enabled;
    this.shared = redis.client ? new RedisBucketStore(redis.client, `${config.spring.cache.redis.keyPrefix}rl:`) : null;
    // Every tier's series exists at 0 from the start, so `increase()` sees the first refusal.
    if (this.enabled) {
      for (const tier of [DEFAULT_TIER, ...Object.keys(config.mcp.security.rateLimiting.tiers)]) {
        rejections.inc({ tier }, 0);
      }
    }
  }

  /** The limits of a tier (unknown or none: the default `requests-per-minute`/`burst-capacity`). */
  limitsFor(tier: string | null): BucketLimits & { tier: string } {
    const settings = this.config.mcp.security.rateLimiting;
    const configured = tier !== null && Object.hasOwn(settings.tiers, tier) ? settings.tiers[tier] : undefined;
    if (configured) return { tier: tier!, ...configured };
    return {
      tier: DEFAULT_TIER,
      requestsPerMinute: settings.requestsPerMinute,
      burstCapacity: settings.burstCapacity,
    };
  }

  /**
   * Takes one request from the principal's bucket and sets `X-RateLimit-Limit/Remaining/Reset` on the reply;
   * throws 429 RATE_LIMIT_EXCEEDED with `Retry-After` when the bucket holds no whole request.
   */
  async consume(principal: RateLimitSubject, reply: FastifyReply): Promise<void> {
    if (!this.enabled) return;
    const limits = this.limitsFor(principal.tier);
    // The limits are part of the key: a tier whose numbers change starts with a fresh (full) bucket.
    const key = `${limits.tier}:${limits.burstCapacity}:${limits.requestsPerMinute}:${principal.id}`;
    const result = await this.take(key, limits);
    setHeaders(reply, limits.burstCapacity, result);
    if (result.allowed) return;

    this.rejections.inc({ tier: limits.tier });
    const retryAfter = Math.max(1, Math.ceil(result.msUntilNext / 1000));
    throw new AppException(
      ErrorCode.RATE_LIMIT_EXCEEDED,
      `Rate limit exceeded: ${limits.requestsPerMinute} requests per minute, bursts of ${limits.burstCapacity} (${limits.tier} tier); retry in ${retryAfter} s`,
      {
        tier: limits.tier,
        limit: limits.burstCapacity,
        requests_per_minute: limits.requestsPerMinute,
        retry_after_seconds: retryAfter,
      },
      { 'Retry-After': String(retryAfter) },
    );
  }

  /** For requests without a valid credential: one bucket per client address, with the default limits. */
  consumeAnonymous(address: string, reply: FastifyReply): Promise<void> {
    return this.consume({ id: `ip:${address}`, tier: null }, reply);
  }

  /**
   * Redis when it answers, else this process' buckets. An outage is logged once by RedisConnection; a command that
   * fails while the connection is up (a read-only replica, OOM) is logged here, once until a command succeeds again.
   */
  private async take(key: string, limits: BucketLimits): Promise<TakeResult> {
    if (this.shared && this.redis.isUp) {
      try {
        const result = await this.shared.take(key, limits);
        this.failing = false;
        return result;
      } catch (error) {
        if (!this.failing && this.redis.isUp) {
          this.logger.warn(
            `Redis refused a rate-limit command (${(error as Error).message}): buckets are kept in this process until it accepts them again`,
          );
        }
        this.failing = true;
      }
    }
    return this.memory.takeNow(key, limits);
  }
}

function setHeaders(reply: FastifyReply, limit: number, result: TakeResult): void {
  void reply.header('X-RateLimit-Limit', String(limit));
  void reply.header('X-RateLimit-Remaining', String(result.remaining));
  void reply.header('X-RateLimit-Reset', String(Math.ceil((Date.now() + result.msUntilFull) / 1000)));
}
