import { Inject, Injectable, Logger } from '@nestjs/common';
import { RetentionJob } from 'src/common/retention-job';
import { APP_CONFIG } from 'src/config/config.module';
import type { AppConfig } from 'src/config/config.schema';
import { WebhooksRepository } from './webhooks.repository';

/**
 * Finished deliveries (and their attempts) older than `mcp.webhooks.retention-days` are deleted, at start and hourly;
 * pending ones stay whatever their age.
 */
@Injectable()
export class WebhookRetention extends RetentionJob {
  protected readonly logger = new Logger('Webhooks');
  protected readonly what = 'finished webhook deliveries';

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly repository: WebhooksRepository,
  ) {
    super();
  }

  protected retentionDays(): number {
    return this.config.mcp.webhooks.retentionDays;
  }

  protected deleteOlderThan(days: number): Promise<number> {
    return this.repository.deleteFinishedOlderThan(days);
  }
}
