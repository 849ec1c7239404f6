import { Module } from '@nestjs/common';
import { RateLimitService } from './rate-limit.service';

/** Per-principal rate limits; applied by the global AuthGuard right after authentication. */
@Module({ providers: [RateLimitService], exports: [RateLimitService] })
export class RateLimitModule {}
