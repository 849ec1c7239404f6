import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { Principal } from 'src/auth/principal';
import { AppException } from 'src/common/errors/app.exception';
import { ErrorCode } from 'src/common/errors/error-code';
import { toStoredResult } from 'src/executions/stored-result';
import {
  DEFAULT_BATCH_PARALLEL,
  type BatchRequestDto,
  type BatchResultDto,
  type BatchStepResultDto,
} from './dto/batch.dto';
import { runPlan, validatePlan, type StepOutcome } from './batch-plan';
import type { CallOutcome } from './call.types';
import { CallPipeline } from './call-pipeline';
import { CallPolicy } from './stages/call-policy';
import { errorOf } from './stages/call-record';

/** Who runs a batch. */
export interface BatchCaller {
  principal?: Principal;
  /** The HTTP client leaving cancels the steps still running. */
  signal?: AbortSignal;
}

/**
 * A batch: several tool calls as a dependency graph, each step one call through the pipeline (recorded with the
 * batch's id and its step id). The graph is validated first (400 naming duplicates, unknown dependencies, cycles) and
 * every named server checked against the caller's allow-list (403 naming the step), so nothing runs unless all can.
 */
@Injectable()
export class BatchRunner {
  constructor(
    private readonly pipeline: CallPipeline,
    private readonly policy: CallPolicy,
  ) {}

  async run(request: BatchRequestDto, caller: BatchCaller): Promise<BatchResultDto> {
    const steps = request.executions.map((s) => ({ ...s, id: s.execution_id, dependsOn: s.depends_on ?? [] }));
    validatePlan(steps);
    for (const step of steps) {
      if (step.server_id === undefined) continue;
      try {
        this.policy.checkServer(caller.principal, step.server_id);
      } catch {
        throw new AppException(
          ErrorCode.AUTHORIZATION_DENIED,
          `Step '${step.id}': not allowed to use server ${step.server_id}`,
          { execution_id: step.id, server_id: step.server_id },
        );
      }
    }
    const batchId = randomUUID();
    const startedAt = new Date();
    const started = performance.now();
    const outcomes = await runPlan(
      steps,
      {
        maxParallel: request.options?.max_parallel ?? DEFAULT_BATCH_PARALLEL,
        failFast: request.options?.fail_fast === true,
      },
      async (step): Promise<StepOutcome<CallOutcome>> => {
        const stepStarted = performance.now();
        let recordId: string | undefined;
        try {
          const value = await this.pipeline.call(
            {
              toolName: step.tool_name,
              serverId: step.server_id,
              arguments: step.parameters,
              timeoutMs: step.timeout,
              principal: caller.principal,
              channel: 'rest',
              batch: { batchId, stepId: step.id },
            },
            { signal: caller.signal, onExecutionId: (id) => (recordId = id) },
          );
          return { status: 'completed', value, recordId, durationMs: value.durationMs };
        } catch (error) {
          const durationMs = Math.round((performance.now() - stepStarted) * 100) / 100;
          return { status: 'failed', error: errorOf(error), recordId, durationMs };
        }
      },
    );
    const executions = steps.map((step): BatchStepResultDto => {
      const outcome = outcomes.get(step.id)!;
      return {
        execution_id: step.id,
        ...(outcome.recordId ? { record_id: outcome.recordId } : {}),
        status: outcome.status,
        ...(outcome.value ? { result: toStoredResult(outcome.value.result) } : {}),
        ...(outcome.error ? { error: outcome.error } : {}),
        duration_ms: outcome.durationMs,
      };
    });
    const completed = executions.filter((e) => e.status === 'completed').length;
    return {
      batch_id: batchId,
      status: completed === executions.length ? 'completed' : completed === 0 ? 'failed' : 'partial',
      executions,
      started_at: startedAt.toISOString(),
      completed_at: new Date().toISOString(),
      total_duration_ms: Math.round((performance.now() - started) * 100) / 100,
    };
  }
}
