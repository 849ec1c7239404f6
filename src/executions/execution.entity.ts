import { Column, Entity, PrimaryColumn } from 'typeorm';

export const EXECUTION_STATUSES = ['running', 'completed', 'failed', 'interrupted', 'cancelled'] as const;
export type ExecutionStatus = (typeof EXECUTION_STATUSES)[number];
export type ExecutionChannel = 'rest' | 'mcp';

/**
 * Why a call that did not complete ended, when the gateway knows: a caller's cancel, a client that went away, the
 * gateway's own shutdown (the call was cancelled upstream), a gateway process that died under it (found by the sweep),
 * or the call's timeout.
 */
export const EXECUTION_END_REASONS = [
  'cancelled_by_caller',
  'client_gone',
  'gateway_shutdown',
  'gateway_crash',
  'timeout',
] as const;
export type ExecutionEndReason = (typeof EXECUTION_END_REASONS)[number];

export interface ExecutionError {
  code: string;
  message: string;
  reason?: ExecutionEndReason;
}

/** One tool call on record (migration Executions). Indexes are declared in the migration. */
@Entity({ name: 'executions' })
export class ExecutionEntity {
  @PrimaryColumn({ type: 'uuid', primaryKeyConstraintName: 'pk_executions' })
  id!: string;

  @Column({ type: 'varchar', length: 300 })
  principal!: string;

  @Column({ type: 'varchar', length: 8 })
  channel!: ExecutionChannel;

  @Column({ name: 'server_id', type: 'varchar', length: 64 })
  serverId!: string;

  @Column({ name: 'tool_name', type: 'varchar', length: 512 })
  toolName!: string;

  @Column({ type: 'jsonb', nullable: true })
  parameters!: unknown;

  @Column({ name: 'parameters_truncated', type: 'boolean', default: false })
  parametersTruncated!: boolean;

  @Column({ type: 'jsonb', nullable: true })
  result!: unknown;

  @Column({ name: 'result_truncated', type: 'boolean', default: false })
  resultTruncated!: boolean;

  @Column({ type: 'varchar', length: 16 })
  status!: ExecutionStatus;

  @Column({ type: 'jsonb', nullable: true })
  error!: ExecutionError | null;

  @Column({ name: 'started_at', type: 'timestamptz' })
  startedAt!: Date;

  @Column({ name: 'completed_at', type: 'timestamptz', nullable: true })
  completedAt!: Date | null;

  @Column({ name: 'duration_ms', type: 'double precision', nullable: true })
  durationMs!: number | null;

  @Column({ name: 'idempotency_key', type: 'varchar', length: 200, nullable: true })
  idempotencyKey!: string | null;

  @Column({ name: 'request_hash', type: 'varchar', length: 64, nullable: true })
  requestHash!: string | null;

  @Column({ name: 'batch_id', type: 'uuid', nullable: true })
  batchId!: string | null;

  /** The MCP protocol revision of a call through the MCP front door; null for REST. */
  @Column({ name: 'protocol_version', type: 'varchar', length: 16, nullable: true })
  protocolVersion!: string | null;

  /** How many times the call waited for its MCP client's input (migration ExecutionInputRounds); null: never. */
  @Column({ name: 'input_rounds', type: 'integer', nullable: true })
  inputRounds!: number | null;

  /** The virtual server the call came through (migration VirtualServers); null for a call of the server itself. */
  @Column({ name: 'virtual_server_id', type: 'varchar', length: 64, nullable: true })
  virtualServerId!: string | null;

  @Column({ name: 'step_id', type: 'varchar', length: 200, nullable: true })
  stepId!: string | null;

  /** The process (INSTANCE_ID) that ran the call: a `running` row is interrupted only once that process is dead. */
  @Column({ type: 'varchar', length: 200, nullable: true })
  owner!: string | null;
}
