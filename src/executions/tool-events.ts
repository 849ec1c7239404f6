import type { OutboxEvent } from 'src/webhooks/webhook-events';
import type { ExecutionError, ExecutionStatus } from './execution.entity';
import { jsonbSafe } from './sanitize';

/** What a `tool.executed` / `tool.failed` webhook tells of a finished execution (recorded, or interrupted). */
export interface ToolEventSource {
  id: string;
  principal: string;
  channel: string;
  serverId: string;
  toolName: string;
  status: Exclude<ExecutionStatus, 'running'>;
  result?: unknown;
  error?: ExecutionError;
  startedAt: Date;
  completedAt: Date;
  durationMs: number | null;
  batchId?: string | null;
  stepId?: string | null;
}

/** `tool.executed` for a completed call (its result may still be `is_error`), `tool.failed` otherwise. */
export function toolEvent(e: ToolEventSource): OutboxEvent {
  const isError =
    typeof e.result === 'object' && e.result !== null && (e.result as { is_error?: unknown }).is_error === true;
  return {
    event: e.status === 'completed' ? 'tool.executed' : 'tool.failed',
    occurredAt: e.completedAt,
    data: {
      execution_id: e.id,
      server_id: e.serverId,
      tool_name: e.toolName,
      principal: e.principal,
      channel: e.channel,
      status: e.status,
      ...(e.status === 'completed' ? { is_error: isError } : {}),
      error: e.error ? jsonbSafe(e.error) : null,
      started_at: e.startedAt.toISOString(),
      completed_at: e.completedAt.toISOString(),
      duration_ms: e.durationMs,
      batch_id: e.batchId ?? null,
      step_id: e.stepId ?? null,
    },
  };
}
