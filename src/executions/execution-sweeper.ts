import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { INSTANCE_ID } from 'src/common/instance-id';
import { APP_CONFIG } from 'src/config/config.module';
import type { AppConfig } from 'src/config/config.schema';
import { WebhookOutbox } from 'src/webhooks/webhook-outbox';
import { ExecutionsRepository, type InterruptedExecution } from './executions.repository';
import { toolEvent } from './tool-events';

/**
 * Keeps this process's heartbeat (`gateway_instances`) and interrupts the `running` executions of processes whose
 * heartbeat stopped longer than `mcp.executions.orphan-after` ago: at start and at every
 * `mcp.executions.heartbeat-interval`. A replica starting next to live ones leaves their calls alone; the calls of
 * a killed process are interrupted by whichever replica sweeps first once its heartbeat is stale (by the restarted
 * process itself when it is the only one).
 */
@Injectable()
export class ExecutionSweeper implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('ExecutionSweeper');
  private readonly settings: AppConfig['mcp']['executions'];
  private timer: NodeJS.Timeout | undefined;
  private passing: Promise<void> | undefined;

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly repository: ExecutionsRepository,
    private readonly outbox: WebhookOutbox,
  ) {
    this.settings = config.mcp.executions;
  }

  /** The heartbeat is on record before this process writes any `running` row (the API is not listening yet). */
  async onApplicationBootstrap(): Promise<void> {
    await this.repository.heartbeat(INSTANCE_ID);
    await this.sweep();
    this.timer = setInterval(() => {
      this.passing ??= this.pass().finally(() => (this.passing = undefined));
    }, this.settings.heartbeatInterval);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.passing;
  }

  private async pass(): Promise<void> {
    try {
      await this.repository.heartbeat(INSTANCE_ID);
    } catch (error) {
      this.logger.warn(`heartbeat failed: ${(error as Error).message}`);
      return;
    }
    await this.sweep();
  }

  /** One sweep; failures are logged and retried at the next heartbeat. */
  async sweep(): Promise<number> {
    try {
      let queued = 0;
      // Subscribers hear of an interrupted call as `tool.failed`, written with the status change.
      const interrupted = await this.repository.interruptOrphaned(this.settings.orphanAfter, async (rows, manager) => {
        queued = await this.outbox.enqueue(rows.map(toEvent), manager);
      });
      this.outbox.written(queued);
      if (interrupted > 0)
        this.logger.warn(`${interrupted} execution(s) left running by a stopped gateway process marked interrupted`);
      return interrupted;
    } catch (error) {
      this.logger.warn(`sweep of interrupted executions failed: ${(error as Error).message}`);
      return 0;
    }
  }
}

/** The `tool.failed` webhook of a call the gateway stopped under. */
function toEvent(e: InterruptedExecution) {
  return toolEvent({
    ...e,
    status: 'interrupted',
    error: {
      code: 'SERVER_ERROR',
      message: 'The gateway process running the call stopped before the call finished',
      reason: 'gateway_crash',
    },
    durationMs: null,
  });
}
