import { createHash } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import type { EntityManager, FindOptionsWhere, Repository } from 'typeorm';
import { INSTANCE_ID } from 'src/common/instance-id';
import type { SynchronousCommitMode } from 'src/config/config.schema';
import { ExecutionEntity, type ExecutionStatus } from './execution.entity';

export interface ExecutionFilter {
  principal?: string;
  serverId?: string;
  toolName?: string;
  status?: ExecutionStatus;
}

/** Set again when a finished record meets its `running` row (jobs, batch steps, idempotent calls). */
const UPDATED_ON_FINISH = [
  'parameters',
  'parameters_truncated',
  'result',
  'result_truncated',
  'status',
  'error',
  'completed_at',
  'duration_ms',
  'input_rounds',
];

const RECORD_COLUMNS: [column: string, type: string][] = [
  ['id', 'uuid'],
  ['principal', 'varchar'],
  ['channel', 'varchar'],
  ['server_id', 'varchar'],
  ['tool_name', 'varchar'],
  ['parameters', 'jsonb'],
  ['parameters_truncated', 'boolean'],
  ['result', 'jsonb'],
  ['result_truncated', 'boolean'],
  ['status', 'varchar'],
  ['error', 'jsonb'],
  ['started_at', 'timestamptz'],
  ['completed_at', 'timestamptz'],
  ['duration_ms', 'double precision'],
  ['idempotency_key', 'varchar'],
  ['request_hash', 'varchar'],
  ['batch_id', 'uuid'],
  ['step_id', 'varchar'],
  ['owner', 'varchar'],
  ['protocol_version', 'varchar'],
  ['virtual_server_id', 'varchar'],
  ['input_rounds', 'integer'],
];

const UPSERT_FINISHED = `
  INSERT INTO executions (${RECORD_COLUMNS.map(([c]) => `"${c}"`).join(', ')})
  SELECT ${RECORD_COLUMNS.map(([c]) => `r."${c}"`).join(', ')}
  FROM jsonb_to_recordset($1::jsonb) AS r(${RECORD_COLUMNS.map(([c, t]) => `"${c}" ${t}`).join(', ')})
  ON CONFLICT ("id") DO UPDATE SET ${UPDATED_ON_FINISH.map((c) => `"${c}" = EXCLUDED."${c}"`).join(', ')}`;

/** A row as `jsonb_to_recordset` reads it: the table's column names; jsonb columns as JSON values. */
function toRecord(row: ExecutionEntity): Record<string, unknown> {
  return {
    id: row.id,
    principal: row.principal,
    channel: row.channel,
    server_id: row.serverId,
    tool_name: row.toolName,
    parameters: row.parameters ?? null,
    parameters_truncated: row.parametersTruncated ?? false,
    result: row.result ?? null,
    result_truncated: row.resultTruncated ?? false,
    status: row.status,
    error: row.error ?? null,
    started_at: row.startedAt,
    completed_at: row.completedAt ?? null,
    duration_ms: row.durationMs ?? null,
    idempotency_key: row.idempotencyKey ?? null,
    request_hash: row.requestHash ?? null,
    batch_id: row.batchId ?? null,
    step_id: row.stepId ?? null,
    owner: row.owner ?? null,
    protocol_version: row.protocolVersion ?? null,
    virtual_server_id: row.virtualServerId ?? null,
    input_rounds: row.inputRounds ?? null,
  };
}

/** What `prepared` uses of TypeORM's pg pool (`PostgresDriver.master`, a node-postgres `Pool`). */
interface PreparingPool {
  query<T>(config: { name: string; text: string; values: unknown[] }): Promise<{ rows: T[] }>;
}

/** A row the sweep of dead processes interrupted. */
export interface InterruptedExecution {
  id: string;
  principal: string;
  channel: string;
  serverId: string;
  toolName: string;
  startedAt: Date;
  completedAt: Date;
  batchId: string | null;
  stepId: string | null;
}

interface InterruptedRow {
  id: string;
  principal: string;
  channel: string;
  server_id: string;
  tool_name: string;
  started_at: Date;
  completed_at: Date;
  batch_id: string | null;
  step_id: string | null;
}

/** What one write of finished records did. */
export interface UpsertOutcome {
  recorded: number;
  /** Rows the statement written alongside wrote (webhook deliveries). */
  written: number;
  /** The `synchronous_commit` the write's transaction committed with, when the write set it. */
  synchronousCommit: string | null;
}

/** Named queries over `executions`. */
@Injectable()
export class ExecutionsRepository {
  /** Statement names by text (a handful: the recorder's variants). */
  private readonly statementNames = new Map<string, string>();

  constructor(@InjectRepository(ExecutionEntity) private readonly repository: Repository<ExecutionEntity>) {}

  findById(id: string): Promise<ExecutionEntity | null> {
    return this.repository.findOneBy({ id });
  }

  findByKey(principal: string, idempotencyKey: string): Promise<ExecutionEntity | null> {
    return this.repository.findOneBy({ principal, idempotencyKey });
  }

  async list(filter: ExecutionFilter, page: number, limit: number): Promise<[ExecutionEntity[], number]> {
    const where: FindOptionsWhere<ExecutionEntity> = {};
    if (filter.principal !== undefined) where.principal = filter.principal;
    if (filter.serverId !== undefined) where.serverId = filter.serverId;
    if (filter.toolName !== undefined) where.toolName = filter.toolName;
    if (filter.status !== undefined) where.status = filter.status;
    return this.repository.findAndCount({
      where,
      order: { startedAt: 'DESC', id: 'DESC' },
      skip: (page - 1) * limit,
      take: limit,
    });
  }

  /**
   * Multi-row write of finished records: new rows are inserted, rows already there (idempotent calls) updated.
   * `alongside` (the webhook outbox's statement for these records, a CTE with parameter `$2`) runs in the same
   * statement: atomic without a transaction, one round trip. `synchronousCommit` sets PostgreSQL's
   * `synchronous_commit` for this statement's own transaction only (`set_config(…, true)` in a CTE the result reads,
   * so it runs; the commit at the statement's end reads it), unless `database`.
   */
  async upsertMany(
    rows: ExecutionEntity[],
    alongside?: { sql: string; parameter: string },
    synchronousCommit: SynchronousCommitMode = 'database',
  ): Promise<UpsertOutcome> {
    if (rows.length === 0) return { recorded: 0, written: 0, synchronousCommit: null };
    // One statement with one parameter (the rows as a JSON array): TypeORM's multi-row insert builds and checks a
    // parameter per cell, which cost ~70 µs of CPU per recorded call under load (bench profile).
    const payload = JSON.stringify(rows.map(toRecord));
    const parameters: string[] = [payload];
    const ctes = [`recorded AS (${UPSERT_FINISHED} RETURNING 1)`];
    const columns = ['(SELECT count(*) FROM recorded)::int AS recorded'];
    if (alongside) {
      parameters.push(alongside.parameter);
      ctes.push(`alongside AS (${alongside.sql})`);
      columns.push('(SELECT count(*) FROM alongside)::int AS written');
    }
    if (synchronousCommit !== 'database') {
      parameters.push(synchronousCommit);
      ctes.unshift(`commit_mode AS (SELECT set_config('synchronous_commit', $${parameters.length}, true) AS mode)`);
      columns.push('(SELECT mode FROM commit_mode) AS commit_mode');
    }
    const [result] = await this.prepared<{ recorded: number; written?: number; commit_mode?: string }>(
      `WITH ${ctes.join(', ')} SELECT ${columns.join(', ')}`,
      parameters,
    );
    return {
      recorded: result!.recorded,
      written: result!.written ?? 0,
      synchronousCommit: result!.commit_mode ?? null,
    };
  }

  /**
   * Runs `text` as a named prepared statement of node-postgres: each pooled connection parses and plans it once, not
   * on every group of records (planning was 0.2 ms of the statement's 0.7 ms inside PostgreSQL, `EXPLAIN ANALYZE`).
   * The name is derived from the text, so two texts never share one.
   */
  private async prepared<T>(text: string, values: unknown[]): Promise<T[]> {
    let name = this.statementNames.get(text);
    if (name === undefined) {
      name = `globalmcp-${createHash('sha256').update(text).digest('hex').slice(0, 16)}`;
      this.statementNames.set(text, name);
    }
    const pool = (this.repository.manager.connection.driver as unknown as { master: PreparingPool }).master;
    return (await pool.query<T>({ name, text, values })).rows;
  }

  /**
   * Inserts the `running` row of a call (its parameters masked and capped as in the finished record), owned by this
   * process; false when the principal already has a row with its idempotency key (the partial unique index decides,
   * across replicas).
   */
  async insertRunningOnce(row: ExecutionEntity): Promise<boolean> {
    const inserted: unknown[] = await this.repository.query(
      `INSERT INTO executions (id, principal, channel, server_id, tool_name, status, started_at, idempotency_key,
                               request_hash, batch_id, step_id, owner, parameters, parameters_truncated,
                               protocol_version, virtual_server_id)
       VALUES ($1, $2, $3, $4, $5, 'running', $6, $7, $8, $9, $10, $11, $12::jsonb, $13, $14, $15)
       ON CONFLICT (principal, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
       RETURNING id`,
      [
        row.id,
        row.principal,
        row.channel,
        row.serverId,
        row.toolName,
        row.startedAt,
        row.idempotencyKey,
        row.requestHash,
        row.batchId,
        row.stepId,
        INSTANCE_ID,
        // Stringified here: pg would send a string (a truncated value) as-is, which is not JSON.
        JSON.stringify(row.parameters ?? null),
        row.parametersTruncated ?? false,
        row.protocolVersion ?? null,
        row.virtualServerId ?? null,
      ],
    );
    return inserted.length === 1;
  }

  /** Records that `instance` is alive (its `running` rows are left alone by the sweep of any replica). */
  async heartbeat(instance: string): Promise<void> {
    await this.repository.query(
      `INSERT INTO gateway_instances (id, started_at, heartbeat_at) VALUES ($1, now(), now())
       ON CONFLICT (id) DO UPDATE SET heartbeat_at = now()`,
      [instance],
    );
  }

  /**
   * Rows left `running` by a process that is gone become `interrupted`: their owner's last heartbeat is older than
   * `orphanAfterMs` (or it has none: rows written before owners were recorded). Database time on both sides, so
   * replica clocks do not matter. `alsoInTransaction` gets the rows interrupted, in the same transaction (their
   * webhook deliveries). Instances silent for 100 times that long are forgotten.
   */
  async interruptOrphaned(
    orphanAfterMs: number,
    alsoInTransaction?: (rows: InterruptedExecution[], manager: EntityManager) => Promise<void>,
  ): Promise<number> {
    const count = await this.repository.manager.transaction(async (manager) => {
      const [rows]: [InterruptedRow[], number] = await manager.query(
        `UPDATE executions e SET status = 'interrupted', completed_at = now(),
                error = '{"code":"SERVER_ERROR","message":"The gateway process running the call stopped before the call finished","reason":"gateway_crash"}'::jsonb
          WHERE e.status = 'running'
            AND NOT EXISTS (SELECT 1 FROM gateway_instances i
                             WHERE i.id = e.owner
                               AND i.heartbeat_at > now() - make_interval(secs => $1::double precision / 1000))
        RETURNING e.id, e.principal, e.channel, e.server_id, e.tool_name, e.started_at, e.completed_at, e.batch_id,
                  e.step_id`,
        [orphanAfterMs],
      );
      if (rows.length > 0 && alsoInTransaction)
        await alsoInTransaction(
          rows.map((r) => ({
            id: r.id,
            principal: r.principal,
            channel: r.channel,
            serverId: r.server_id,
            toolName: r.tool_name,
            startedAt: r.started_at,
            completedAt: r.completed_at,
            batchId: r.batch_id,
            stepId: r.step_id,
          })),
          manager,
        );
      return rows.length;
    });
    await this.repository.query(
      `DELETE FROM gateway_instances WHERE heartbeat_at < now() - make_interval(secs => $1::double precision / 10)`,
      [orphanAfterMs],
    );
    return count;
  }

  /** Deletes finished records that started more than `days` days ago; returns how many. */
  async deleteOlderThan(days: number): Promise<number> {
    const result: [unknown[], number] = await this.repository.query(
      `DELETE FROM executions WHERE started_at < now() - make_interval(days => $1) AND status <> 'running'`,
      [days],
    );
    return result[1];
  }
}
