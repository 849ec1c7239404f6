import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { APP_CONFIG } from 'src/config/config.module';
import type { AppConfig } from 'src/config/config.schema';
import { WebhooksRepository } from './webhooks.repository';

const HOUR_MS = 3_600_000;

/**
 * Deletes finished deliveries (and their attempts) older than `mcp.webhooks.retention-days`, at start and hourly;
 * pending ones stay whatever their age. Every replica runs it: the DELETE is idempotent.
 */
@Injectable()
export class WebhookRetention implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('Webhooks');
  private timer: NodeJS.Timeout | undefined;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly repository: WebhooksRepository,
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
    const days = this.config.mcp.webhooks.retentionDays;
    try {
      const deleted = await this.repository.deleteFinishedOlderThan(days);
      if (deleted > 0) this.logger.log(`Deleted ${deleted} webhook deliveries finished more than ${days} days ago`);
      return deleted;
    } catch (error) {
      this.logger.warn(`Webhook delivery retention pass failed: ${(error as Error).message}`);
      return 0;
    }
  }
}
