import { Inject, Injectable } from '@nestjs/common';
import { setTimeout as delay } from 'node:timers/promises';
import { AppException } from 'src/common/errors/app.exception';
import { ErrorCode } from 'src/common/errors/error-code';
import { APP_CONFIG } from 'src/config/config.module';
import type { AppConfig } from 'src/config/config.schema';
import type { ExecutionEntity } from 'src/executions/execution.entity';
import { ExecutionRecorder } from 'src/executions/execution-recorder';
import { requestHash } from 'src/executions/sanitize';
import { fromStoredResult, type ExecutionOutcome } from 'src/executions/stored-result';
import type { CallRequest } from '../call.types';
import { CallRecord, type CallOnRecord } from './call-record';

/** How often a repeat of a keyed call still running elsewhere looks at its row. */
const POLL_MS = 50;

/** What claiming a key gives: the call is this one's to run, or an earlier call with the key exists. */
export type Claim = { first: true } | { first: false; row: ExecutionEntity };

/**
 * Stage 4, idempotency: a call with an `idempotencyKey` writes its `running` row first, guarded by the unique index
 * on (principal, key) across replicas. A repeat with the same arguments gets the first call's outcome (waiting while
 * it still runs), with other arguments 409 CONFLICT; a first call interrupted by a gateway stop is not run again
 * under its key (its outcome upstream is unknown).
 */
@Injectable()
export class Idempotency {
  constructor(
    private readonly recorder: ExecutionRecorder,
    private readonly record: CallRecord,
    @Inject(APP_CONFIG) private readonly config: Pick<AppConfig, 'mcp'>,
  ) {}

  /** The hash that says whether a repeat asks the same thing (tool, server as named, arguments). */
  hashOf(request: CallRequest): string | null {
    return request.idempotencyKey === undefined
      ? null
      : requestHash(request.toolName, request.serverId, request.arguments);
  }

  /** Writes the call's `running` row; with a key used before, the row of that first call (409 if it asked otherwise). */
  async claim(call: CallOnRecord): Promise<Claim> {
    if (await this.record.begin(call)) return { first: true };
    const key = call.request.idempotencyKey!;
    const row = await this.recorder.findByKey(call.principal, key);
    if (!row || row.requestHash !== call.requestHash) throw reused(key, row?.id);
    return { first: false, row };
  }

  /** The outcome of the first call with this key: waits while it runs (bounded by the call's timeout). */
  async replay(principal: string, request: CallRequest, hash: string, signal?: AbortSignal): Promise<ExecutionOutcome> {
    const key = request.idempotencyKey!;
    const deadline = Date.now() + (request.timeoutMs ?? this.config.mcp.client.defaultTimeout) + 1000;
    for (;;) {
      const row = await this.recorder.findByKey(principal, key);
      if (!row) throw new AppException(ErrorCode.SERVER_ERROR, `Idempotency key '${key}' vanished; retry the call`);
      if (row.requestHash !== hash) throw reused(key, row.id);
      switch (row.status) {
        case 'completed':
          return {
            executionId: row.id,
            serverId: row.serverId,
            toolName: row.toolName,
            result: fromStoredResult(row.result),
            startedAt: row.startedAt,
            completedAt: row.completedAt ?? row.startedAt,
            durationMs: row.durationMs ?? 0,
          };
        case 'interrupted':
          throw AppException.conflict(
            `The first call with idempotency_key '${key}' was interrupted by a gateway stop: its outcome is ` +
              'unknown, so it is not run again under this key',
            { idempotency_key: key, execution_id: row.id },
          );
        case 'failed':
        case 'cancelled': {
          const error = row.error ?? { code: ErrorCode.SERVER_ERROR, message: 'The first call was interrupted' };
          const code = (Object.values(ErrorCode) as string[]).includes(error.code)
            ? (error.code as ErrorCode)
            : ErrorCode.SERVER_ERROR;
          throw new AppException(code, error.message, { idempotency_key: key, execution_id: row.id });
        }
        case 'running':
          break;
      }
      if (signal?.aborted) throw new AppException(ErrorCode.TIMEOUT_EXCEEDED, 'The client went away');
      if (Date.now() > deadline) {
        throw new AppException(
          ErrorCode.TIMEOUT_EXCEEDED,
          `The first call with idempotency_key '${key}' is still running`,
          { idempotency_key: key, execution_id: row.id },
        );
      }
      await delay(POLL_MS);
    }
  }
}

function reused(key: string, executionId: string | undefined): AppException {
  return AppException.conflict('idempotency_key was already used with other parameters', {
    idempotency_key: key,
    ...(executionId ? { execution_id: executionId } : {}),
  });
}
