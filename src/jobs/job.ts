import type { ExecutionEntity } from 'src/executions/execution.entity';
import type { JobState } from './dto/job.dto';

/** What an event stream carries: `event:` is the type, `data:` the JSON payload, `id:` the sequence number. */
export type JobEventType = 'status' | 'progress' | 'log' | 'result' | 'error' | 'cancelled' | 'interrupted';

export interface JobEvent {
  id: number;
  type: JobEventType;
  data: Record<string, unknown>;
}

/** Events kept per job for replay (`Last-Event-ID`); older ones are dropped first (the final event is always kept). */
const MAX_EVENTS = 1_000;

/** A job in this process: its state, its events (for replay and live listeners) and the controller that ends it. */
export class Job {
  state: JobState = 'running';
  readonly events: JobEvent[] = [];
  readonly listeners = new Set<(event: JobEvent) => void>();
  readonly controller = new AbortController();
  finishedAt: number | undefined;
  /** When its latest event happened (an MCP task's `lastUpdatedAt`). */
  updatedAt: Date;
  done: Promise<void> = Promise.resolve();
  private sequence = 0;

  constructor(
    readonly id: string,
    readonly owner: string,
    readonly serverId: string,
    readonly toolName: string,
    readonly startedAt: Date,
  ) {
    this.updatedAt = startedAt;
  }

  push(type: JobEventType, data: Record<string, unknown>): void {
    const event: JobEvent = { id: ++this.sequence, type, data: { execution_id: this.id, ...data } };
    this.events.push(event);
    this.updatedAt = new Date();
    if (this.events.length > MAX_EVENTS) this.events.splice(1, this.events.length - MAX_EVENTS);
    for (const listener of this.listeners) listener(event);
  }

  get finished(): boolean {
    return this.state !== 'running';
  }
}

/** The one event a job no longer in memory still has: its outcome, from the database row. */
export function finalEventOf(row: ExecutionEntity): JobEvent {
  const base = { execution_id: row.id, status: row.status };
  switch (row.status) {
    case 'completed':
      return {
        id: 0,
        type: 'result',
        data: {
          ...base,
          result: row.result,
          server_id: row.serverId,
          tool_name: row.toolName,
          started_at: row.startedAt.toISOString(),
          completed_at: row.completedAt?.toISOString() ?? null,
          duration_ms: row.durationMs,
        },
      };
    case 'failed':
      return { id: 0, type: 'error', data: { ...base, error: row.error } };
    case 'interrupted':
      return { id: 0, type: 'interrupted', data: { ...base, message: row.error?.message ?? 'Interrupted' } };
    case 'cancelled':
      return { id: 0, type: 'cancelled', data: { ...base, message: row.error?.message ?? 'Cancelled' } };
    case 'running':
      return {
        id: 0,
        type: 'status',
        data: {
          ...base,
          server_id: row.serverId,
          tool_name: row.toolName,
          started_at: row.startedAt.toISOString(),
          message: 'Runs on another gateway instance: this stream gives its outcome, not its progress',
        },
      };
  }
}
