import { Inject, Injectable } from '@nestjs/common';
import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { AppException } from 'src/common/errors/app.exception';
import { translateEngineError } from 'src/bootstrap/engine-error.translator';
import { toAppException } from 'src/common/errors/all-exceptions.filter';
import { ErrorCode } from 'src/common/errors/error-code';
import { APP_CONFIG } from 'src/config/config.module';
import type { AppConfig } from 'src/config/config.schema';
import type { ExecutionChannel, ExecutionEntity } from 'src/executions/execution.entity';
import { ExecutionRecorder } from 'src/executions/execution-recorder';
import { ExecutionsRepository } from 'src/executions/executions.repository';
import { requestHash, storable } from 'src/executions/sanitize';
import { McpEngine, type CallOptions, type ToolRef } from 'src/mcp/mcp-engine';
import { ServersService } from 'src/servers/servers.service';
import { isServerAllowed } from 'src/auth/principal';
import { runPlan, validatePlan, type StepOutcome } from 'src/executions/batch-plan';
import {
  DEFAULT_BATCH_PARALLEL,
  type BatchRequestDto,
  type BatchResultDto,
  type ExecutionResultDto,
  type ListToolsQueryDto,
  type ToolDto,
  type ToolListDto,
} from './dto/tool.dto';

export interface ExecuteRequest {
  name: string;
  serverId?: string;
  parameters: Record<string, unknown>;
  timeoutMs?: number;
  /** Aborted when the HTTP client goes away: the upstream call is cancelled too. */
  signal?: AbortSignal;
  /** The caller's server allow-list (undefined: every server); used to resolve a tool when no server is named. */
  allowedServers?: ReadonlySet<string>;
  /** Who calls (principal id), for the executions record; `anonymous` when the route is public. */
  principal?: string;
  /** Per principal: a repeat with the same parameters returns the first call's result without calling again. */
  idempotencyKey?: string;
  /** Set for the steps of a batch. */
  batchId?: string;
  stepId?: string;
  /** Where the call came in, for the executions record (default `rest`). */
  channel?: ExecutionChannel;
  /** Progress notifications of the upstream call (the MCP front door forwards them). */
  onProgress?: CallOptions['onProgress'];
  /** The MCP client session that asks: the upstream's sampling/elicitation/roots requests go back to it. */
  origin?: CallOptions['origin'];
  /** Asked when the call fails: true records it `interrupted` (a job cut short by a gateway stop) instead of `failed`. */
  interrupted?: () => boolean;
  /** Asked when the call fails: true records it `cancelled` (its caller cancelled it) instead of `failed`. */
  cancelled?: () => boolean;
}

/**
 * A call whose `running` row is on record but that has not started (a job, or a sync call streamed as SSE), so its
 * `execution_id` can be handed out first. `run` is absent when an idempotency key was used before with the same
 * parameters: `executionId` is then the first call's, and `repeatOf` its status.
 */
export interface PreparedCall {
  executionId: string;
  serverId: string;
  toolName: string;
  startedAt: Date;
  repeatOf?: ExecutionEntity['status'];
  /** Runs the call and records its outcome under `executionId`; `hooks` are the job's signal, progress, ... */
  run?: (
    hooks: Pick<ExecuteRequest, 'signal' | 'onProgress' | 'interrupted' | 'cancelled'>,
  ) => Promise<ExecutionResultDto>;
}

/** Who runs a batch. */
export interface BatchCaller {
  principal?: string;
  allowedServers?: ReadonlySet<string>;
  signal?: AbortSignal;
}

/** How often a repeat of an idempotent call still running elsewhere looks at its row. */
const IDEMPOTENT_POLL_MS = 50;

/** The tool catalog across servers, and tool execution. */
@Injectable()
export class ToolsService {
  constructor(
    private readonly engine: McpEngine,
    private readonly servers: ServersService,
    private readonly recorder: ExecutionRecorder,
    private readonly executions: ExecutionsRepository,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  list(query: ListToolsQueryDto, allowed?: ReadonlySet<string>): ToolListDto {
    if (query.server_id) this.servers.find(query.server_id);
    const needle = query.search?.toLowerCase();
    const tools = this.engine
      .listTools(query.server_id)
      .filter((ref) => !allowed || allowed.has(ref.serverId))
      .map((ref) => this.toDto(ref))
      .filter((t) => !query.category || t.category === query.category)
      .filter(
        (t) => !needle || t.name.toLowerCase().includes(needle) || (t.description ?? '').toLowerCase().includes(needle),
      )
      .sort((a, b) => a.server_id.localeCompare(b.server_id) || a.name.localeCompare(b.name));
    return {
      tools,
      total_count: tools.length,
      servers_count: new Set(tools.map((t) => t.server_id)).size,
      categories: [...new Set(tools.map((t) => t.category))].sort(),
    };
  }

  /** One tool; 409 when the name exists on several servers and no server is named. */
  get(name: string, serverId?: string, allowed?: ReadonlySet<string>): ToolDto {
    if (serverId) this.servers.find(serverId);
    return this.toDto(this.engine.findTool(name, serverId ?? this.allowedServerOf(name, allowed)));
  }

  /**
   * Calls a tool and records the call (completed or failed, same `execution_id` as the answer) off the hot path.
   * With an idempotency key, the first call's `running` row is written first, guarded by the unique index: a
   * repeat gets the stored outcome (waiting while the first still runs), or 409 when its parameters differ.
   */
  async execute(request: ExecuteRequest): Promise<ExecutionResultDto> {
    return this.executeOn(this.resolveServer(request), randomUUID(), request);
  }

  /**
   * Resolves the tool (404/409 as for `execute`) and writes the call's `running` row, so that it is visible at once
   * (GET /api/executions/{id}) before anything runs. An idempotency key used before: its first call (same
   * parameters) or 409 CONFLICT. The caller runs the call with `run`.
   */
  async prepare(request: ExecuteRequest): Promise<PreparedCall> {
    const serverId = this.resolveServer(request);
    // Bad arguments are the caller's error (400) before a job or a stream is accepted, and leave nothing on record.
    this.engine.checkToolCall(serverId, request.name, request.parameters);
    const id = randomUUID();
    const principal = request.principal ?? 'anonymous';
    const startedAt = new Date();
    const hash =
      request.idempotencyKey !== undefined ? requestHash(request.name, request.serverId, request.parameters) : null;
    const first = await this.executions.insertRunningOnce(
      runningRow(id, principal, serverId, request, startedAt, hash),
    );
    if (!first) {
      const row = await this.executions.findByKey(principal, request.idempotencyKey!);
      if (!row || row.requestHash !== hash) {
        throw AppException.conflict('idempotency_key was already used with other parameters', {
          idempotency_key: request.idempotencyKey,
          ...(row ? { execution_id: row.id } : {}),
        });
      }
      return {
        executionId: row.id,
        serverId: row.serverId,
        toolName: row.toolName,
        startedAt: row.startedAt,
        repeatOf: row.status,
      };
    }
    return {
      executionId: id,
      serverId,
      toolName: request.name,
      startedAt,
      run: (hooks) => this.executeOn(serverId, id, { ...request, ...hooks }, { startedAt, hash }),
    };
  }

  /** The server a call goes to: 404 for an unknown server or tool, 409 for an ambiguous name. */
  private resolveServer(request: ExecuteRequest): string {
    if (request.serverId) this.servers.find(request.serverId);
    return this.engine.findTool(
      request.name,
      request.serverId ?? this.allowedServerOf(request.name, request.allowedServers),
    ).serverId;
  }

  /** Calls a resolved tool and records the call under `id` (from here on, every outcome is on record). */
  private async executeOn(
    serverId: string,
    id: string,
    request: ExecuteRequest,
    /** Set when `prepare` wrote the `running` row already. */
    prepared?: { startedAt: Date; hash: string | null },
  ): Promise<ExecutionResultDto> {
    const principal = request.principal ?? 'anonymous';
    const startedAt = prepared?.startedAt ?? new Date();
    let hash: string | null = prepared?.hash ?? null;
    if (!prepared && request.idempotencyKey === undefined && request.batchId !== undefined) {
      // A batch step is on record as `running` while it runs: a gateway killed mid-batch leaves rows the sweep of
      // dead processes interrupts, rather than steps with no trace (one write per step; single calls stay unwritten
      // until they finish).
      await this.executions.insertRunningOnce(runningRow(id, principal, serverId, request, startedAt, null));
    }
    if (request.idempotencyKey !== undefined && !prepared) {
      // As in `prepare`: a bad request writes no running row.
      this.engine.checkToolCall(serverId, request.name, request.parameters);
      hash = requestHash(request.name, request.serverId, request.parameters);
      const first = await this.executions.insertRunningOnce(
        runningRow(id, principal, serverId, request, startedAt, hash),
      );
      if (!first) return this.replay(principal, request.idempotencyKey, hash, request);
    }
    const started = performance.now();
    const record = {
      id,
      principal,
      channel: request.channel ?? 'rest',
      serverId,
      toolName: request.name,
      parameters: request.parameters,
      startedAt,
      idempotencyKey: request.idempotencyKey ?? null,
      requestHash: hash,
      batchId: request.batchId ?? null,
      stepId: request.stepId ?? null,
    };
    try {
      const result = await this.engine.callTool(serverId, request.name, request.parameters, {
        timeoutMs: request.timeoutMs,
        signal: request.signal,
        onProgress: request.onProgress,
        origin: request.origin,
      });
      const durationMs = Math.round((performance.now() - started) * 100) / 100;
      const completedAt = new Date();
      const dto: ExecutionResultDto = {
        execution_id: id,
        status: 'completed',
        result: {
          content: result.content ?? [],
          ...(result.structuredContent !== undefined ? { structured_content: result.structuredContent } : {}),
          is_error: result.isError === true,
        },
        server_id: serverId,
        tool_name: request.name,
        started_at: startedAt.toISOString(),
        completed_at: completedAt.toISOString(),
        duration_ms: durationMs,
      };
      this.recorder.record({ ...record, status: 'completed', result: dto.result, completedAt, durationMs });
      return dto;
    } catch (error) {
      const durationMs = Math.round((performance.now() - started) * 100) / 100;
      this.recorder.record({
        ...record,
        status: request.interrupted?.() ? 'interrupted' : request.cancelled?.() ? 'cancelled' : 'failed',
        error: errorOf(error),
        completedAt: new Date(),
        durationMs,
      });
      throw error;
    }
  }

  /**
   * Runs a batch: the graph is validated first (400 naming duplicates, unknown dependencies, cycles) and every
   * named server checked against the caller's allow-list (403 naming the step), so nothing runs unless all can.
   * Each step that runs is an execution recorded with `batch_id` and `step_id`.
   */
  async batch(request: BatchRequestDto, caller: BatchCaller): Promise<BatchResultDto> {
    const steps = request.executions.map((s) => ({ ...s, id: s.execution_id, dependsOn: s.depends_on ?? [] }));
    validatePlan(steps);
    for (const step of steps) {
      if (step.server_id === undefined) continue;
      if (!isServerAllowed(caller.allowedServers, step.server_id)) {
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
      async (step): Promise<StepOutcome<ExecutionResultDto>> => {
        const stepStarted = performance.now();
        const call: ExecuteRequest = {
          name: step.tool_name,
          serverId: step.server_id,
          parameters: step.parameters,
          timeoutMs: step.timeout,
          signal: caller.signal,
          allowedServers: caller.allowedServers,
          principal: caller.principal,
          batchId,
          stepId: step.id,
        };
        let recordId: string | undefined;
        try {
          const serverId = this.resolveServer(call);
          recordId = randomUUID();
          const value = await this.executeOn(serverId, recordId, call);
          return { status: 'completed', value, recordId, durationMs: value.duration_ms };
        } catch (error) {
          const durationMs = Math.round((performance.now() - stepStarted) * 100) / 100;
          return { status: 'failed', error: errorOf(error), recordId, durationMs };
        }
      },
    );
    const executions = steps.map((step) => {
      const outcome = outcomes.get(step.id)!;
      return {
        execution_id: step.id,
        ...(outcome.recordId ? { record_id: outcome.recordId } : {}),
        status: outcome.status,
        ...(outcome.value ? { result: outcome.value.result } : {}),
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

  /** The outcome of the first call with this key: waits while it runs (bounded by the call's timeout). */
  private async replay(
    principal: string,
    key: string,
    hash: string,
    request: ExecuteRequest,
  ): Promise<ExecutionResultDto> {
    const deadline = Date.now() + (request.timeoutMs ?? this.config.mcp.client.defaultTimeout) + 1000;
    for (;;) {
      const row = await this.executions.findByKey(principal, key);
      if (!row) throw new AppException(ErrorCode.SERVER_ERROR, `Idempotency key '${key}' vanished; retry the call`);
      if (row.requestHash !== hash) {
        throw AppException.conflict('idempotency_key was already used with other parameters', {
          idempotency_key: key,
          execution_id: row.id,
        });
      }
      if (row.status === 'completed') {
        return {
          execution_id: row.id,
          status: 'completed',
          result: row.result as ExecutionResultDto['result'],
          server_id: row.serverId,
          tool_name: row.toolName,
          started_at: row.startedAt.toISOString(),
          completed_at: (row.completedAt ?? row.startedAt).toISOString(),
          duration_ms: row.durationMs ?? 0,
        };
      }
      if (row.status === 'interrupted') {
        throw AppException.conflict(
          `The first call with idempotency_key '${key}' was interrupted by a gateway stop: its outcome is unknown, ` +
            'so it is not run again under this key',
          { idempotency_key: key, execution_id: row.id },
        );
      }
      if (row.status !== 'running') {
        const error = row.error ?? { code: ErrorCode.SERVER_ERROR, message: 'The first call was interrupted' };
        const code = (Object.values(ErrorCode) as string[]).includes(error.code)
          ? (error.code as ErrorCode)
          : ErrorCode.SERVER_ERROR;
        throw new AppException(code, error.message, { idempotency_key: key, execution_id: row.id });
      }
      if (request.signal?.aborted) throw new AppException(ErrorCode.TIMEOUT_EXCEEDED, 'The client went away');
      if (Date.now() > deadline) {
        throw new AppException(
          ErrorCode.TIMEOUT_EXCEEDED,
          `The first call with idempotency_key '${key}' is still running`,
          { idempotency_key: key, execution_id: row.id },
        );
      }
      await delay(IDEMPOTENT_POLL_MS);
    }
  }

  /**
   * For a caller limited to some servers and naming none: the one allowed server offering the tool (404 when
   * none does, 409 when several do), so tools of other servers neither resolve nor make a name ambiguous.
   */
  private allowedServerOf(name: string, allowed?: ReadonlySet<string>): string | undefined {
    if (!allowed) return undefined;
    const hits = this.engine
      .listTools()
      .filter((ref) => ref.tool.name === name && allowed.has(ref.serverId))
      .map((ref) => ref.serverId)
      .sort();
    if (hits.length === 0) throw AppException.notFound(`Tool '${name}'`, { tool: name });
    if (hits.length > 1) {
      throw AppException.conflict(`Tool '${name}' exists on several servers; name one`, { tool: name, servers: hits });
    }
    return hits[0];
  }

  private toDto({ serverId, tool }: ToolRef): ToolDto {
    const server = this.servers.find(serverId);
    return {
      name: tool.name,
      ...(tool.title ? { title: tool.title } : {}),
      description: tool.description ?? null,
      server_id: serverId,
      server_name: server.entry.name ?? serverId,
      category: categoryOf(tool),
      input_schema: tool.inputSchema,
      ...(tool.outputSchema ? { output_schema: tool.outputSchema } : {}),
      ...(tool.annotations ? { annotations: tool.annotations } : {}),
    };
  }
}

function errorOf(error: unknown): { code: string; message: string } {
  const { exception } = toAppException(error, [translateEngineError]);
  return { code: exception.code, message: exception.message };
}

function categoryOf(tool: Tool): string {
  const category = tool._meta?.category;
  return typeof category === 'string' && category.length > 0 ? category : 'general';
}

/** The `running` row of a call: its parameters as the finished record stores them (secrets masked, size capped). */
function runningRow(
  id: string,
  principal: string,
  serverId: string,
  request: ExecuteRequest,
  startedAt: Date,
  hash: string | null,
): ExecutionEntity {
  const parameters = storable(request.parameters);
  return {
    id,
    principal,
    channel: request.channel ?? 'rest',
    serverId,
    toolName: request.name,
    startedAt,
    parameters: parameters.value,
    parametersTruncated: parameters.truncated,
    idempotencyKey: request.idempotencyKey ?? null,
    requestHash: hash,
    batchId: request.batchId ?? null,
    stepId: request.stepId ?? null,
  } as ExecutionEntity;
}
