import { Inject, Injectable, Logger } from '@nestjs/common';
import { RetentionJob } from 'src/common/retention-job';
import { APP_CONFIG } from 'src/config/config.module';
import type { AppConfig } from 'src/config/config.schema';
import { ExecutionsRepository } from './executions.repository';

/** Execution records older than `mcp.executions.retention-days` are deleted, at start and hourly. */
@Injectable()
export class ExecutionRetention extends RetentionJob {
  protected readonly logger = new Logger('ExecutionRetention');
  protected readonly what = 'execution record(s)';

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly executions: ExecutionsRepository,
  ) {
    super();
  }

  protected retentionDays(): number {
    return this.config.mcp.executions.retentionDays;
  }

  protected deleteOlderThan(days: number): Promise<number> {
    return this.executions.deleteOlderThan(days);
  }
}
