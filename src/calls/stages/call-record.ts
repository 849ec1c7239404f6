import { Injectable, Optional } from '@nestjs/common';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { translateEngineError } from 'src/mcp/engine-error';
import { toAppException } from 'src/common/errors/to-app-exception';
import { ErrorCode } from 'src/common/errors/error-code';
import type { ExecutionEndReason, ExecutionError, ExecutionStatus } from 'src/executions/execution.entity';
import { ExecutionRecorder, type FinishedExecution } from 'src/executions/execution-recorder';
import { toStoredResult } from 'src/executions/stored-result';
import { toolAttributes, Tracing } from 'src/tracing/tracing.service';
import type { CallEndReason, CallRequest } from '../call.types';

/** What the record of one call holds before its outcome is known. */
export interface CallOnRecord {
  id: string;
  principal: string;
  request: CallRequest;
  serverId: string;
  startedAt: Date;
  requestHash: string | null;
}

interface EndRecord {
  status: ExecutionStatus & ('cancelled' | 'interrupted');
  reason: ExecutionEndReason;
  message: string;
}

const END_REASON: Record<CallEndReason, EndRecord> = {
  'cancelled-by-caller': { status: 'cancelled', reason: 'cancelled_by_caller', message: 'Cancelled by the caller' },
  'client-gone': { status: 'cancelled', reason: 'client_gone', message: 'Cancelled: the client went away' },
  'gateway-shutdown': {
    status: 'interrupted',
    reason: 'gateway_shutdown',
    message: 'The gateway stopped before the call finished; the call was cancelled upstream',
  },
};

/**
 * Stage 6, record and events: a finished call is written (durably, before the entry point answers) with its
 * `tool.executed` / `tool.failed` webhook in the same transaction (ExecutionRecorder). A call that did not complete is
 * recorded for what happened: cancelled by its caller or because its client went away (`cancelled`), stopped by the
 * gateway's shutdown (`interrupted`), timed out or failed (`failed`); `error.reason` names which. Job events and
 * metrics come from the entry point (the job's stream) and the engine (`call.finished`).
 */
@Injectable()
export class CallRecord {
  constructor(
    private readonly recorder: ExecutionRecorder,
    @Optional() private readonly tracing: Tracing = Tracing.disabled(),
  ) {}

  /** The `running` row of a call that is on record before it runs; false when its idempotency key was used before. */
  begin(call: CallOnRecord): Promise<boolean> {
    return this.recorder.begin({ ...this.base(call), startedAt: call.startedAt });
  }

  completed(
    call: CallOnRecord,
    result: CallToolResult,
    completedAt: Date,
    durationMs: number,
    inputRounds = 0,
  ): Promise<void> {
    const write = () => this.write(call, result, completedAt, durationMs, inputRounds);
    if (this.tracing.enabled) return this.traced(call, write);
    return write();
  }

  failed(
    call: CallOnRecord,
    error: unknown,
    endReason: CallEndReason | undefined,
    durationMs: number,
    inputRounds = 0,
  ): Promise<void> {
    const write = () => this.writeFailed(call, error, endReason, durationMs, inputRounds);
    if (this.tracing.enabled) return this.traced(call, write);
    return write();
  }

  private traced(call: CallOnRecord, write: () => Promise<void>): Promise<void> {
    return this.tracing.inStage('record', toolAttributes(call.serverId, call.request.toolName), write);
  }

  private write(
    call: CallOnRecord,
    result: CallToolResult,
    completedAt: Date,
    durationMs: number,
    inputRounds: number,
  ): Promise<void> {
    return this.recorder.finish({
      ...this.base(call),
      status: 'completed',
      result: toStoredResult(result),
      completedAt,
      durationMs,
      ...(inputRounds > 0 ? { inputRounds } : {}),
    });
  }

  private writeFailed(
    call: CallOnRecord,
    error: unknown,
    endReason: CallEndReason | undefined,
    durationMs: number,
    inputRounds: number,
  ): Promise<void> {
    const { status, error: recorded } = outcomeOf(error, endReason);
    return this.recorder.finish({
      ...this.base(call),
      status,
      error: recorded,
      completedAt: new Date(),
      durationMs,
      ...(inputRounds > 0 ? { inputRounds } : {}),
    });
  }

  private base(call: CallOnRecord): Omit<FinishedExecution, 'status' | 'completedAt' | 'durationMs' | 'startedAt'> & {
    startedAt: Date;
  } {
    return {
      id: call.id,
      principal: call.principal,
      channel: call.request.channel,
      serverId: call.serverId,
      toolName: call.request.toolName,
      parameters: call.request.arguments,
      startedAt: call.startedAt,
      idempotencyKey: call.request.idempotencyKey ?? null,
      requestHash: call.requestHash,
      batchId: call.request.batch?.batchId ?? null,
      stepId: call.request.batch?.stepId ?? null,
      protocolVersion: call.request.protocolVersion ?? null,
      virtualServerId: call.request.virtualServerId ?? null,
    };
  }
}

/** The status and error a failed call is recorded with. */
export function outcomeOf(
  error: unknown,
  endReason: CallEndReason | undefined,
): { status: FinishedExecution['status']; error: ExecutionError } {
  const recorded = errorOf(error);
  if (endReason !== undefined) {
    const end = END_REASON[endReason];
    return { status: end.status, error: { code: recorded.code, message: end.message, reason: end.reason } };
  }
  return {
    status: 'failed',
    error: recorded.code === (ErrorCode.TIMEOUT_EXCEEDED as string) ? { ...recorded, reason: 'timeout' } : recorded,
  };
}

/** An error as the record and a batch step show it. */
export function errorOf(error: unknown): ExecutionError {
  const { exception } = toAppException(error, [translateEngineError]);
  return { code: exception.code, message: exception.message };
}
