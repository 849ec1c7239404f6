import { Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { INSTANCE_ID } from 'src/common/instance-id';
import { ExecutionEntity, type ExecutionChannel, type ExecutionError, type ExecutionStatus } from './execution.entity';
import { WebhookOutbox } from 'src/webhooks/webhook-outbox';
import { ExecutionsRepository } from './executions.repository';
import { jsonbSafe, storable } from './sanitize';
import { toolEvent } from './tool-events';

/** A finished call, as the caller hands it over: masked, capped and serialized only when written. */
export interface FinishedExecution {
  id: string;
  principal: string;
  channel: ExecutionChannel;
  serverId: string;
  toolName: string;
  parameters: unknown;
  result?: unknown;
  status: Exclude<ExecutionStatus, 'running'>;
  error?: ExecutionError;
  startedAt: Date;
  completedAt: Date;
  durationMs: number;
  idempotencyKey?: string | null;
  requestHash?: string | null;
  batchId?: string | null;
  stepId?: string | null;
}

const FLUSH_INTERVAL_MS = 200;
const FLUSH_SIZE = 200;
/** Records kept for a retry when the database refuses a write, beyond which the oldest are dropped (logged). */
const MAX_BUFFERED = 50_000;

/**
 * Writes finished executions off the hot path: `record()` only buffers; a flush (every 200 ms, or at 200 records)
 * writes them with multi-row INSERTs, and their webhook deliveries (`tool.executed`, `tool.failed`) in the same
 * transaction. Shutdown flushes everything before the database closes (DatabaseModule is
 * global: its shutdown hook runs after this feature module's). Rows left `running` by a dead process are the
 * ExecutionSweeper's.
 */
@Injectable()
export class ExecutionRecorder implements OnApplicationShutdown {
  private readonly logger = new Logger('ExecutionRecorder');
  private buffer: FinishedExecution[] = [];
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;

  constructor(
    private readonly repository: ExecutionsRepository,
    private readonly outbox: WebhookOutbox,
  ) {}

  record(execution: FinishedExecution): void {
    this.buffer.push(execution);
    if (this.buffer.length >= FLUSH_SIZE) void this.flush();
    else this.timer ??= setTimeout(() => void this.flush(), FLUSH_INTERVAL_MS);
  }

  /** Writes everything buffered so far (waits for a flush already running, then writes what came in since). */
  async flush(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    while (this.flushing) await this.flushing;
    if (this.buffer.length === 0) return;
    const batch = this.buffer;
    this.buffer = [];
    this.flushing = this.write(batch).finally(() => (this.flushing = undefined));
    await this.flushing;
  }

  async onApplicationShutdown(): Promise<void> {
    for (let attempt = 0; attempt < 3 && (this.buffer.length > 0 || this.flushing); attempt++) await this.flush();
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.buffer.length > 0)
      this.logger.error(`${this.buffer.length} execution record(s) not written: the database refused them at shutdown`);
  }

  private async write(batch: FinishedExecution[]): Promise<void> {
    for (let i = 0; i < batch.length; i += FLUSH_SIZE) {
      const chunk = batch.slice(i, i + FLUSH_SIZE);
      try {
        await this.writeChunk(chunk);
      } catch (error) {
        if (isDataError(error)) {
          // One record the database can never take must not hold back the others: write them one by one.
          await this.writeOneByOne(chunk, error);
          continue;
        }
        this.logger.error(`Writing ${chunk.length} execution record(s) failed: ${(error as Error).message}`);
        this.buffer.unshift(...batch.slice(i));
        if (this.buffer.length > MAX_BUFFERED) {
          const dropped = this.buffer.splice(0, this.buffer.length - MAX_BUFFERED);
          this.logger.error(`${dropped.length} execution record(s) dropped: the buffer is full`);
        }
        // unref: a database that stays down must not keep a stopping process alive.
        this.timer ??= setTimeout(() => void this.flush(), 1000).unref();
        return;
      }
    }
  }

  /** The records and their webhook deliveries in one transaction: no event without its record. */
  private async writeChunk(chunk: FinishedExecution[]): Promise<void> {
    let queued = 0;
    await this.repository.upsertMany(chunk.map(toRow), async (manager) => {
      queued = await this.outbox.enqueue(chunk.map(toolEvent), manager);
    });
    this.outbox.written(queued);
  }

  private async writeOneByOne(chunk: FinishedExecution[], cause: unknown): Promise<void> {
    this.logger.warn(
      `A batch of ${chunk.length} execution record(s) was refused (${(cause as Error).message}); writing them one by one`,
    );
    for (const execution of chunk) {
      try {
        await this.writeChunk([execution]);
      } catch (error) {
        if (!isDataError(error)) {
          this.buffer.unshift(execution);
          this.timer ??= setTimeout(() => void this.flush(), 1000).unref();
          continue;
        }
        this.logger.error(
          `Execution record ${execution.id} (${execution.serverId}/${execution.toolName.slice(0, 200)}) dropped: ` +
            `the database refuses it (${(error as Error).message})`,
        );
      }
    }
  }
}

/**
 * PostgreSQL refused the values themselves (SQLSTATE class 22 data exception, 23 integrity constraint): retrying
 * the same row would fail forever. Anything else (connection lost, database down) is worth a retry.
 */
function isDataError(error: unknown): boolean {
  const code =
    (error as { code?: unknown; driverError?: { code?: unknown } }).driverError?.code ??
    (error as { code?: unknown }).code;
  return typeof code === 'string' && /^2[23]/.test(code);
}

function toRow(e: FinishedExecution): ExecutionEntity {
  const parameters = storable(e.parameters);
  const result = storable(e.result);
  const row = new ExecutionEntity();
  Object.assign(row, {
    id: e.id,
    principal: e.principal,
    channel: e.channel,
    serverId: e.serverId,
    toolName: e.toolName,
    parameters: parameters.value,
    parametersTruncated: parameters.truncated,
    result: result.value,
    resultTruncated: result.truncated,
    status: e.status,
    error: e.error ? jsonbSafe(e.error) : null,
    startedAt: e.startedAt,
    completedAt: e.completedAt,
    durationMs: e.durationMs,
    idempotencyKey: e.idempotencyKey ?? null,
    requestHash: e.requestHash ?? null,
    batchId: e.batchId ?? null,
    stepId: e.stepId ?? null,
    owner: INSTANCE_ID,
  } satisfies ExecutionEntity);
  return row;
}
