import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import type { FastifyReply } from 'fastify';
import type { Counter } from 'prom-client';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import type { Principal } from 'src/auth/principal';
import { RedisConnection } from 'src/cache/cache.module';
import { AppException } from 'src/common/errors/app.exception';
import { ErrorCode } from 'src/common/errors/error-code';
import { APP_CONFIG } from 'src/config/config.module';
import type { AppConfig } from 'src/config/config.schema';
import { RATE_LIMIT_REJECTIONS } from 'src/metrics/metric-names';

/** Limits of one bucket. */
export interface BucketLimits {
  requestsPerMinute: number;
  burstCapacity: number;
}

const DEFAULT_TIER = 'default';

/**
 * Per-principal request budgets with `rate-limiter-flexible`.
 *
 * Why not `@nestjs/throttler`: its Redis storage (`@nest-lab/throttler-storage-redis`) declares Nest <= 11 and,
 * with Redis down, turns every route into a 500; the throttler also has no notion of a per-caller tier resolved
 * after authentication. rate-limiter-flexible gives an atomic Redis Lua script (one bucket per principal across
 * replicas), an in-memory insurance limiter that takes over while Redis is unreachable (fail open to memory,
 * never a 500), and the numbers for the X-RateLimit-* headers.
 *
 * The bucket: `burst-capacity` requests, refilled whole every `burst-capacity / requests-per-minute` minutes
 * (rate-limiter-flexible counts fixed windows; there is no continuous-refill store). Over time the rate is
 * exactly `requests-per-minute` and no more than `burst-capacity` requests pass in one window (a client that
 * waits for a window's last instant can reach twice that across the boundary).
 */
@Injectable()
export class RateLimitService {
  private readonly logger = new Logger('RateLimit');
  private readonly limiters = new Map<string, RateLimiterAbstract>();
  private readonly enabled: boolean;
  private storeErrorLogged = false;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly redis: RedisConnection,
    @InjectMetric(RATE_LIMIT_REJECTIONS) private readonly rejections: Counter<'tier'>,
  ) {
    this.enabled = config.mcp.security.rateLimiting.enabled;
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
   * throws 429 RATE_LIMIT_EXCEEDED with `Retry-After` when the bucket is empty. When neither Redis nor the
   * insurance limiter can answer, the request passes (logged once).
   */
  async consume(principal: Pick<Principal, 'id' | 'tier'>, reply: FastifyReply): Promise<void> {
    if (!this.enabled) return;
    const limits = this.limitsFor(principal.tier);
    const limiter = this.limiterFor(limits);
    try {
      const result = await limiter.consume(principal.id, 1);
      setHeaders(reply, limits.burstCapacity, result);
    } catch (rejection) {
      if (!(rejection instanceof RateLimiterRes)) {
        if (!this.storeErrorLogged)
          this.logger.warn(`Rate limiter unavailable, request let through: ${String(rejection)}`);
        this.storeErrorLogged = true;
        return;
      }
      setHeaders(reply, limits.burstCapacity, rejection);
      this.rejections.inc({ tier: limits.tier });
      const retryAfter = Math.max(1, Math.ceil(rejection.msBeforeNext / 1000));
      throw new AppException(
        ErrorCode.RATE_LIMIT_EXCEEDED,
        `Rate limit exceeded: ${limits.burstCapacity} requests per ${windowSeconds(limits)} s (${limits.tier} tier); retry in ${retryAfter} s`,
        {
          tier: limits.tier,
          limit: limits.burstCapacity,
          window_seconds: windowSeconds(limits),
          retry_after_seconds: retryAfter,
        },
        { 'Retry-After': String(retryAfter) },
      );
    }
  }

  /** For requests without a valid credential: one bucket per client address, with the default limits. */
  consumeAnonymous(address: string, reply: FastifyReply): Promise<void> {
    return this.consume({ id: `ip:${address}`, tier: null }, reply);
  }

  private limiterFor(limits: BucketLimits & { tier: string }): RateLimiterAbstract {
    const name = `${limits.tier}:${limits.burstCapacity}:${limits.requestsPerMinute}`;
    let limiter = this.limiters.get(name);
    if (!limiter) {
      limiter = this.createLimiter(limits, name);
      this.limiters.set(name, limiter);
    }
    return limiter;
  }

  private createLimiter(limits: BucketLimits, name: string): RateLimiterAbstract {
    const options = { points: limits.burstCapacity, duration: windowSeconds(limits) };
    const memory = new RateLimiterMemory({ ...options, keyPrefix: `rl:${name}` });
    if (!this.redis.client) return memory;
    return new RateLimiterRedis({
      ...options,
      storeClient: this.redis.client,
      useRedisPackage: true,
      keyPrefix: `${this.config.spring.cache.redis.keyPrefix}rl:${name}`,
      // Not connected: straight to the insurance limiter instead of waiting for a reconnect.
      rejectIfRedisNotReady: true,
      insuranceLimiter: memory,
    });
  }
}

/** Length of the window in which `burst-capacity` requests pass: the time the rate needs to refill them. */
function windowSeconds(limits: BucketLimits): number {
  return Math.max(1, Math.round((limits.burstCapacity * 60) / limits.requestsPerMinute));
}

function setHeaders(reply: FastifyReply, limit: number, result: RateLimiterRes): void {
  void reply.header('X-RateLimit-Limit', String(limit));
  void reply.header('X-RateLimit-Remaining', String(Math.max(0, result.remainingPoints)));
  void reply.header('X-RateLimit-Reset', String(Math.ceil((Date.now() + result.msBeforeNext) / 1000)));
}
