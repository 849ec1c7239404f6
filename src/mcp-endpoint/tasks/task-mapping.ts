import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { AppException } from 'src/common/errors/app.exception';
import type { AppConfig } from 'src/config/config.schema';
import type { ErrorCode } from 'src/common/errors/error-code';
import type { ExecutionEntity, ExecutionStatus } from 'src/executions/execution.entity';
import { fromStoredResult } from 'src/executions/stored-result';
import type { Job } from 'src/jobs/job';
import { toMcpError } from '../mcp-errors';

/** The Tasks extension's identifier (SEP-2663): in `server/discover` and in a request's `clientCapabilities`. */
export const TASKS_EXTENSION = 'io.modelcontextprotocol/tasks';

export type TaskStatus = 'working' | 'input_required' | 'completed' | 'failed' | 'cancelled';

/** The extension's `DetailedTask` (what `tasks/get` answers; `CreateTaskResult` is the same without result/error). */
export interface DetailedTask {
  taskId: string;
  status: TaskStatus;
  statusMessage?: string;
  createdAt: string;
  lastUpdatedAt: string;
  ttlMs: number | null;
  pollIntervalMs?: number;
  /** An `input_required` task's outstanding questions (MRTR `InputRequests`: key → `{method, params}`). */
  inputRequests?: InputRequests;
  result?: CallToolResult;
  error?: { code: number; message: string; data?: unknown };
}

/** What an upstream asked the client and has not been answered yet, by the key the client answers with. */
export type InputRequests = Record<string, { method: string; params: Record<string, unknown> }>;

/** What a task is made of, whether the job is in this process's memory or only its record is at hand. */
export interface JobSnapshot {
  id: string;
  owner: string;
  status: ExecutionStatus;
  startedAt: Date;
  updatedAt: Date;
  /** The stored result (`content`, `structured_content`, `is_error`), as REST shows it. */
  result?: unknown;
  error?: { code: string; message: string; details?: unknown };
  /** The latest progress of a running job (this process only: progress stays where the job runs). */
  progress?: { progress: number; total?: number; message?: string };
  /** Why a cancelled or interrupted job ended. */
  message?: string;
  /** A running job's questions to the client, not answered yet (an MCP task that waits for input). */
  inputRequests?: InputRequests;
}

export interface TaskTiming {
  ttlMs: number | null;
  pollIntervalMs: number;
}

/** A task is answered for as long as its record is kept; the poll interval is a positive integer (SEP-2663). */
export function taskTiming(config: AppConfig): TaskTiming {
  const days = config.mcp.executions.retentionDays;
  return {
    ttlMs: days > 0 ? days * 86_400_000 : null,
    pollIntervalMs: Math.max(1, Math.round(config.mcp.endpoint.taskPollInterval)),
  };
}

/** A job of this process: its state and its latest events. */
export function snapshotOfJob(job: Job): JobSnapshot {
  const last = job.events.at(-1)?.data ?? {};
  const progress = [...job.events].reverse().find((e) => e.type === 'progress')?.data;
  return {
    id: job.id,
    owner: job.owner,
    status: job.state,
    startedAt: job.startedAt,
    updatedAt: job.updatedAt,
    ...(job.state === 'completed' ? { result: last.result } : {}),
    ...(job.state === 'failed' ? { error: last.error as JobSnapshot['error'] } : {}),
    ...(typeof last.message === 'string' && job.finished ? { message: last.message } : {}),
    ...(progress && !job.finished ? { progress: progress as unknown as JobSnapshot['progress'] } : {}),
  };
}

/** A job known only by its record (it ran on another replica, or left this one's memory). */
export function snapshotOfRecord(row: ExecutionEntity): JobSnapshot {
  return {
    id: row.id,
    owner: row.principal,
    status: row.status,
    startedAt: row.startedAt,
    updatedAt: row.completedAt ?? row.startedAt,
    ...(row.status === 'completed' ? { result: row.result } : {}),
    ...(row.status === 'failed' && row.error ? { error: row.error } : {}),
    ...(row.error && row.status !== 'failed' ? { message: row.error.message } : {}),
  };
}

/**
 * Job state → task status. `running` is `working` (its latest progress as `statusMessage`: the extension has no
 * progress notifications for tasks), or `input_required` with its `inputRequests` while the upstream waits for the
 * client's answers; `completed` inlines the recorded tool result (an `isError` result included); `failed` inlines the
 * JSON-RPC error the same failure gives a synchronous `tools/call` (toMcpError); `cancelled` is `cancelled`;
 * `interrupted` (the gateway stopped under the job) is `failed` with an internal error, since nobody asked for it to
 * end.
 */
export function toTask(job: JobSnapshot, timing: TaskTiming): DetailedTask {
  const base = {
    taskId: job.id,
    createdAt: job.startedAt.toISOString(),
    lastUpdatedAt: job.updatedAt.toISOString(),
    ttlMs: timing.ttlMs,
  };
  switch (job.status) {
    case 'running': {
      if (job.inputRequests && Object.keys(job.inputRequests).length > 0) {
        return {
          ...base,
          status: 'input_required',
          pollIntervalMs: timing.pollIntervalMs,
          statusMessage: 'Waiting for the client to answer the input requests (tasks/update)',
          inputRequests: job.inputRequests,
        };
      }
      const statusMessage = progressMessage(job.progress);
      return {
        ...base,
        status: 'working',
        pollIntervalMs: timing.pollIntervalMs,
        ...(statusMessage ? { statusMessage } : {}),
      };
    }
    case 'completed':
      return { ...base, status: 'completed', result: fromStoredResult(job.result) };
    case 'cancelled':
      return { ...base, status: 'cancelled', statusMessage: job.message ?? 'Cancelled' };
    case 'interrupted': {
      const message = job.message ?? 'The gateway stopped before the call finished';
      return { ...base, status: 'failed', statusMessage: message, error: { code: -32603, message } };
    }
    case 'failed': {
      const failure = job.error ?? { code: 'SERVER_ERROR', message: 'The call failed' };
      const rpc = toMcpError(new AppException(failure.code as ErrorCode, failure.message, failure.details), 'tool');
      const error = { code: rpc.code, message: failure.message, ...(rpc.data !== undefined ? { data: rpc.data } : {}) };
      return { ...base, status: 'failed', statusMessage: failure.message, error };
    }
  }
}

function progressMessage(progress: JobSnapshot['progress']): string | undefined {
  if (!progress) return undefined;
  const count = progress.total !== undefined ? `${progress.progress}/${progress.total}` : `${progress.progress}`;
  return progress.message ? `Progress ${count}: ${progress.message}` : `Progress ${count}`;
}
