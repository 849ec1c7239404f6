import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import path from 'node:path';
import { INSTANCE_ID } from 'src/common/instance-id';
import { APP_CONFIG } from 'src/config/config.module';
import type { AppConfig, SynchronousCommitMode } from 'src/config/config.schema';
import { WebhookOutbox } from 'src/webhooks/webhook-outbox';
import { ExecutionEntity, type ExecutionChannel, type ExecutionError, type ExecutionStatus } from './execution.entity';
import { ExecutionSpool } from './execution-spool';
import { ExecutionsRepository } from './executions.repository';
import { jsonbSafe, storable } from './sanitize';
import { toolEvent } from './tool-events';

/** The `running` row of a call that is on record before it runs (a job, a streamed call, a keyed call, a batch step). */
export interface StartedExecution {
  id: string;
  principal: string;
  channel: ExecutionChannel;
  serverId: string;
  toolName: string;
  parameters: unknown;
  startedAt: Date;
  idempotencyKey?: string | null;
  requestHash?: string | null;
  batchId?: string | null;
  stepId?: string | null;
  protocolVersion?: string | null;
  virtualServerId?: string | null;
}

/** A finished call, as the caller hands it over: masked, capped and serialized only when written. */
export interface FinishedExecution extends StartedExecution {
  result?: unknown;
  status: Exclude<ExecutionStatus, 'running'>;
  error?: ExecutionError;
  completedAt: Date;
  durationMs: number;
  /** How many times the call waited for its MCP client's input; absent when it never did. */
  inputRounds?: number;
}

/** Rows one statement writes at most. */
const WRITE_SIZE = 200;
/**
 * Writes in flight at once. Measured with the bench's caller phase (16 connections): 1 writer 1,334-1,629 calls/s,
 * 2 writers 1,094-1,358, 6 writers 891-1,005: each write waits for its commit (WAL flush), so fewer, larger groups win.
 */
export const WRITERS = 1;
/** How often the spool is offered to the database again while it is not empty. */
const SPOOL_RETRY_MS = 1_000;

interface Waiting {
  execution: FinishedExecution;
  written: () => void;
}

/**
 * The executions table's write side. A finished call is durable before its answer leaves: `finish()` resolves once
 * the record (and its `tool.executed` / `tool.failed` webhook delivery, in the same transaction) is committed, with
 * `mcp.executions.synchronous-commit` saying whether that commit also waits for the WAL flush (ADR 0008). Writes
 * are group-committed: callers that finish while a write is in flight share the next one (one multi-row statement),
 * so there is no timer on the answer path and the cost per call falls as the load rises.
 *
 * When the database does not answer, the records go to a spool file under the data dir (fsync'ed) before the callers
 * are released: the calls go on, a crash loses nothing answered, and the spool is replayed once the database is back.
 * A record the database refuses for its values (SQLSTATE 22/23) is logged and dropped alone, never retried forever.
 */
@Injectable()
export class ExecutionRecorder implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('ExecutionRecorder');
  private queue: Waiting[] = [];
  private writers = 0;
  private readonly spool: ExecutionSpool;
  private spoolTimer: NodeJS.Timeout | undefined;
  private replaying: Promise<void> | undefined;
  private databaseDown = false;
  private readonly synchronousCommit: SynchronousCommitMode;

  constructor(
    private readonly repository: ExecutionsRepository,
    private readonly outbox: WebhookOutbox,
    @Inject(APP_CONFIG) config: Pick<AppConfig, 'mcp'>,
  ) {
    this.spool = new ExecutionSpool(path.join(path.resolve(config.mcp.dataDir), 'spool'));
    this.synchronousCommit = config.mcp.executions.synchronousCommit;
  }

  onApplicationBootstrap(): void {
    // Records a previous process spooled while the database was away.
    if (this.spool.pending) void this.replaySpool();
  }

  /**
   * Writes the `running` row of a call that must be visible before it runs; false when the principal already has a
   * row with this idempotency key (the unique index decides, across replicas).
   */
  begin(started: StartedExecution): Promise<boolean> {
    return this.repository.insertRunningOnce(startedRow(started));
  }

  /** The row of a principal's idempotency key, if any. */
  findByKey(principal: string, idempotencyKey: string): Promise<ExecutionEntity | null> {
    return this.repository.findByKey(principal, idempotencyKey);
  }

  /** Records a finished call; resolves once it is durable (in the table, or in the spool while the database is away). */
  finish(execution: FinishedExecution): Promise<void> {
    return new Promise<void>((written) => {
      this.queue.push({ execution, written });
      if (this.writers < WRITERS) void this.drain();
    });
  }

  async onApplicationShutdown(): Promise<void> {
    while (this.writers > 0 || this.replaying) {
      await this.replaying;
      await new Promise((resolve) => setImmediate(resolve));
    }
    clearTimeout(this.spoolTimer);
    this.spoolTimer = undefined;
    if (this.spool.pending) {
      this.logger.warn('Execution records wait in the spool for the database; the next start writes them');
    }
  }

  /** Up to WRITERS writes at a time; whoever finished while they are all busy goes into the next one. */
  private async drain(): Promise<void> {
    this.writers++;
    try {
      while (this.queue.length > 0) {
        const group = this.queue.splice(0, WRITE_SIZE);
        await this.write(group.map((w) => w.execution));
        for (const waiting of group) waiting.written();
      }
    } finally {
      this.writers--;
    }
  }

  private async write(group: FinishedExecution[]): Promise<void> {
    if (this.databaseDown || this.spool.pending) {
      // Keep the order of what waits: while the spool holds records, new ones join it until the replay catches up.
      this.toSpool(group);
      return;
    }
    try {
      await this.writeChunk(group);
    } catch (error) {
      if (isDataError(error)) {
        await this.writeOneByOne(group, error);
        return;
      }
      this.logger.error(
        `Writing ${group.length} execution record(s) failed (${(error as Error).message}); spooling them until the ` +
          'database answers',
      );
      this.databaseDown = true;
      this.toSpool(group);
    }
  }

  private toSpool(group: FinishedExecution[]): void {
    try {
      if (!this.spool.append(group)) {
        this.logger.error(`${group.length} execution record(s) dropped: the spool is full`);
      }
    } catch (error) {
      this.logger.error(`${group.length} execution record(s) could not be spooled: ${(error as Error).message}`);
    }
    this.spoolTimer ??= setTimeout(() => {
      this.spoolTimer = undefined;
      void this.replaySpool();
    }, SPOOL_RETRY_MS).unref();
  }

  private replaySpool(): Promise<void> {
    this.replaying ??= (async () => {
      try {
        const count = await this.spool.replay((chunk) => this.writeReplayed(chunk), WRITE_SIZE);
        if (count > 0) this.logger.log(`${count} spooled execution record(s) written`);
        this.databaseDown = false;
      } catch (error) {
        this.logger.warn(`The spool waits for the database: ${(error as Error).message}`);
        this.spoolTimer ??= setTimeout(() => {
          this.spoolTimer = undefined;
          void this.replaySpool();
        }, SPOOL_RETRY_MS).unref();
      } finally {
        this.replaying = undefined;
      }
    })();
    return this.replaying;
  }

  private async writeReplayed(chunk: FinishedExecution[]): Promise<void> {
    try {
      await this.writeChunk(chunk);
    } catch (error) {
      if (!isDataError(error)) throw error;
      await this.writeOneByOne(chunk, error);
    }
  }

  /** The records and their webhook deliveries in one statement: no event without its record. */
  private async writeChunk(chunk: FinishedExecution[]): Promise<void> {
    const { written } = await this.repository.upsertMany(
      chunk.map(toRow),
      this.outbox.statementFor(chunk.map(toolEvent), 2),
      this.synchronousCommit,
    );
    this.outbox.written(written);
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
          this.databaseDown = true;
          this.toSpool([execution]);
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

/** The columns a call has from its start: who, what, where, its arguments (masked and capped). */
function startedRow(e: StartedExecution): ExecutionEntity {
  const parameters = storable(e.parameters);
  const row = new ExecutionEntity();
  Object.assign(row, {
    id: e.id,
    principal: e.principal,
    channel: e.channel,
    serverId: e.serverId,
    toolName: e.toolName,
    startedAt: e.startedAt,
    parameters: parameters.value,
    parametersTruncated: parameters.truncated,
    idempotencyKey: e.idempotencyKey ?? null,
    requestHash: e.requestHash ?? null,
    batchId: e.batchId ?? null,
    stepId: e.stepId ?? null,
    protocolVersion: e.protocolVersion ?? null,
    virtualServerId: e.virtualServerId ?? null,
    owner: INSTANCE_ID,
  });
  return row;
}

function toRow(e: FinishedExecution): ExecutionEntity {
  const result = storable(e.result);
  return Object.assign(startedRow(e), {
    result: result.value,
    resultTruncated: result.truncated,
    status: e.status,
    error: e.error ? jsonbSafe(e.error) : null,
    completedAt: e.completedAt,
    durationMs: e.durationMs,
    inputRounds: e.inputRounds ?? null,
  });
}
