import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { APP_CONFIG } from 'src/config/config.module';
import type { AppConfig } from 'src/config/config.schema';
import { ExecutionsRepository } from './executions.repository';

const HOUR_MS = 3_600_000;

/**
 * Deletes execution records older than `mcp.executions.retention-days`, at start and then hourly. Every replica
 * runs it; the DELETE is idempotent, so replicas racing each other only repeat a cheap indexed query.
 */
@Injectable()
export class ExecutionRetention implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('ExecutionRetention');
  private timer: NodeJS.Timeout | undefined;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly executions: ExecutionsRepository,
  ) {}

  onApplicationBootstrap(): void {
    void this.sweep();
    this.timer = setInterval(() => void this.sweep(), HOUR_MS);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  /** One pass; failures are logged and retried at the next pass. */
  async sweep(): Promise<number> {
    const days = this.config.mcp.executions.retentionDays;
    try {
      const deleted = await this.executions.deleteOlderThan(days);
      if (deleted > 0) this.logger.log(`Deleted ${deleted} execution record(s) older than ${days} days`);
      return deleted;
    } catch (error) {
      this.logger.warn(`Execution retention pass failed: ${(error as Error).message}`);
      return 0;
    }
  }
}
