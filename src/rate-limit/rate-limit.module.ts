import { Module } from '@nestjs/common';
import { makeCounterProvider } from '@willsoto/nestjs-prometheus';
import { RATE_LIMIT_REJECTIONS } from 'src/metrics/metric-names';
import { RateLimitService } from './rate-limit.service';

/** Per-principal rate limits; applied by the global AuthGuard right after authentication. */
@Module({
  providers: [
    RateLimitService,
    makeCounterProvider({
      name: RATE_LIMIT_REJECTIONS,
      help: 'Requests refused with 429 by the rate limiter, by tier (default for callers without one)',
      labelNames: ['tier'],
    }),
  ],
  exports: [RateLimitService],
})
export class RateLimitModule {}
