import type { Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';

const HOUR_MS = 3_600_000;

/**
 * Deletes what is older than a retention period, at start and then hourly. Every replica runs it: the DELETE is
 * idempotent, so replicas racing each other only repeat a cheap indexed query. A failed pass is logged and the next
 * one tries again.
 */
export abstract class RetentionJob implements OnApplicationBootstrap, OnApplicationShutdown {
  private timer: NodeJS.Timeout | undefined;

  /** Its logger, and what it deletes as the log names it ("execution record(s)"). */
  protected abstract readonly logger: Logger;
  protected abstract readonly what: string;
  protected abstract retentionDays(): number;
  protected abstract deleteOlderThan(days: number): Promise<number>;

  onApplicationBootstrap(): void {
    void this.sweep();
    this.timer = setInterval(() => void this.sweep(), HOUR_MS);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  /** One pass: how many were deleted (0 when it failed). */
  async sweep(): Promise<number> {
    const days = this.retentionDays();
    try {
      const deleted = await this.deleteOlderThan(days);
      if (deleted > 0) this.logger.log(`Deleted ${deleted} ${this.what} older than ${days} days`);
      return deleted;
    } catch (error) {
      this.logger.warn(`Retention pass (${this.what}) failed: ${(error as Error).message}`);
      return 0;
    }
  }
}
