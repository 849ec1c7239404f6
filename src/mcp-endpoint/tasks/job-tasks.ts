import { Inject, Injectable, Logger } from '@nestjs/common';
import type { CallToolRequest, CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import {
  CLIENT_CAPABILITIES_META_KEY,
  MissingRequiredClientCapabilityError,
  ProtocolError,
  ProtocolErrorCode,
  type Server,
  type ServerContext,
} from '@modelcontextprotocol/server';
import { z } from 'zod';
import type { Principal } from 'src/auth/principal';
import { CallPipeline } from 'src/calls/call-pipeline';
import { AppException } from 'src/common/errors/app.exception';
import { ErrorCode } from 'src/common/errors/error-code';
import { APP_CONFIG } from 'src/config/config.module';
import type { AppConfig } from 'src/config/config.schema';
import { ExecutionsService } from 'src/executions/executions.service';
import type { Job, JobEvent } from 'src/jobs/job';
import { JobsService } from 'src/jobs/jobs.service';
import { McpEngine } from 'src/mcp/mcp-engine';
import { CLIENT_CAPABILITY_FOR } from '../client-origin';
import type { ClientScope } from '../client-scope';
import { toMcpError } from '../mcp-errors';
import { toolCallRequest } from '../tool-call.bridge';
import {
  type DetailedTask,
  type JobSnapshot,
  snapshotOfJob,
  snapshotOfRecord,
  TASKS_EXTENSION,
  type TaskTiming,
  toTask,
} from './task-mapping';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const TaskParams = z.looseObject({ taskId: z.string() });

/** The `CreateTaskResult` a `tools/call` answers when it became a task. */
export type CreateTaskResult = Omit<DetailedTask, 'result' | 'error'> & { resultType: 'task' };

/**
 * The MCP Tasks extension (SEP-2663, `io.modelcontextprotocol/tasks`) served by the gateway's jobs: a task IS a job of
 * JobsService, started from the call pipeline's prepared call (`channel: mcp`), and its id is the execution id. So
 * `GET /api/executions/{id}` and its `/events` follow a task, and `tasks/get`/`tasks/cancel` follow and cancel a job
 * started with `POST …?mode=async`; a task of another replica is answered from its record, and its cancel is relayed
 * by JobsService (PostgreSQL NOTIFY). Only the principal that started a job sees it as a task (no admin override:
 * the extension has no listing, and a task id is the caller's own bearer of state). Nothing here writes a record.
 */
@Injectable()
export class JobTasks {
  private readonly logger = new Logger('McpTasks');
  private readonly timing: TaskTiming;
  /** How long a call of a tool without a task hint may run before its client gets a task (`task-sync-window`). */
  private readonly syncWindow: number;

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly pipeline: CallPipeline,
    private readonly jobs: JobsService,
    private readonly executions: ExecutionsService,
    private readonly engine: McpEngine,
  ) {
    const days = config.mcp.executions.retentionDays;
    // A task is answered for as long as its record is kept. The poll interval: a positive integer (SEP-2663).
    this.timing = {
      ttlMs: days > 0 ? days * 86_400_000 : null,
      pollIntervalMs: Math.max(1, Math.round(config.mcp.endpoint.taskPollInterval)),
    };
    this.syncWindow = config.mcp.endpoint.taskSyncWindow;
  }

  /**
   * Whether this `tools/call` is served as a task. Only for a request that declares the extension and is not the retry
   * of an input-required round. A tool whose definition says `execution.taskSupport` `optional`/`required` is a task
   * at once; another one too, unless the client declared elicitation, sampling or roots (it is then served
   * synchronously, so the upstream's questions reach it as input-required results), and the call then answers its
   * result directly when it ends within `mcp.endpoint.task-sync-window`. A `required` tool called without the
   * extension is refused with -32021: its upstream says it runs it only as a task (the extension's rule for those).
   */
  servesAsTask(scope: ClientScope, params: CallToolRequest['params'], ctx: ServerContext): boolean {
    const declared = declaredCapabilities(ctx);
    const support = this.taskSupport(scope, params.name);
    if (!hasTasks(declared)) {
      if (support === 'required') throw missingExtension();
      return false;
    }
    if (ctx.mcpReq.requestState() !== undefined) return false;
    if (support === 'optional' || support === 'required') return true;
    return !Object.values(CLIENT_CAPABILITY_FOR).some((c) => declared[c] !== undefined);
  }

  /** Starts the call as a job; its result if it ends within the window (a tool without a task hint), else the task. */
  async call(
    scope: ClientScope,
    params: CallToolRequest['params'],
    ctx: ServerContext,
  ): Promise<CallToolResult | CreateTaskResult> {
    // The same request a direct call makes (a virtual server's view renames and adds its fixed arguments, ADR 0009).
    const request = toolCallRequest(scope, params);
    let job: Job;
    try {
      const prepared = await this.pipeline.prepare(request);
      // The `running` row is written: a tasks/get for this id resolves on every replica from now on.
      job = this.jobs.start(prepared, scope.principal);
    } catch (error) {
      throw toMcpError(error, 'tool');
    }
    const support = this.taskSupport(scope, params.name);
    if (support !== 'optional' && support !== 'required' && this.syncWindow > 0) {
      const ended = await this.window(job, params, ctx, scope.signal);
      if (ended) return ended;
    }
    const { result: _r, error: _e, ...task } = toTask(snapshotOfJob(job), this.timing);
    return { ...task, resultType: 'task' };
  }

  /** Registers tasks/get, tasks/update and tasks/cancel on a per-request server (tasks/result, tasks/list: -32601). */
  register(server: Server, principal: Principal | undefined): void {
    server.setRequestHandler('tasks/get', { params: TaskParams }, async (params, ctx) => {
      requireExtension(ctx);
      return { ...toTask(await this.snapshot(params.taskId, principal), this.timing) };
    });
    server.setRequestHandler('tasks/update', { params: TaskParams }, async (params, ctx) => {
      requireExtension(ctx);
      // The SDK lifts `inputResponses` out of params (as for an input-required retry): it must be there, an object.
      if (ctx.mcpReq.inputResponses === undefined) {
        throw new ProtocolError(
          ProtocolErrorCode.InvalidParams,
          'Invalid params for tasks/update: inputResponses is required',
        );
      }
      // A job never asks its client anything (no input_required task): every response is for a key not outstanding,
      // which the extension says to ignore. The task must exist and be the caller's.
      await this.snapshot(params.taskId, principal);
      return {};
    });
    server.setRequestHandler('tasks/cancel', { params: TaskParams }, async (params, ctx) => {
      requireExtension(ctx);
      await this.cancel(params.taskId, principal);
      return {};
    });
  }

  /** Cancels a running job (as POST /api/executions/{id}/cancel: recorded `cancelled`, cancelled by the caller). */
  private async cancel(taskId: string, principal: Principal | undefined): Promise<void> {
    const task = await this.snapshot(taskId, principal);
    // A finished task: the same empty acknowledgement (cancellation is a request, not a guarantee).
    if (task.status !== 'running') return;
    try {
      await this.jobs.cancel(taskId, principal);
    } catch (error) {
      // Finished meanwhile, or relayed to the replica running it without its confirmation yet: still acknowledged.
      if (error instanceof AppException && error.code === ErrorCode.TIMEOUT_EXCEEDED) {
        this.logger.warn(`tasks/cancel of ${taskId}: relayed, not confirmed by the replica running it`);
        return;
      }
      if (error instanceof AppException && error.code === ErrorCode.CONFLICT) return;
      throw toMcpError(error);
    }
  }

  /** The caller's job as it is now: from this process's memory, else from its record; -32602 when none. */
  private async snapshot(taskId: string, principal: Principal | undefined): Promise<JobSnapshot> {
    const owner = principal?.id ?? 'anonymous';
    const job = this.jobs.find(taskId, principal);
    if (job) {
      if (job.owner === owner) return snapshotOfJob(job);
      throw taskNotFound();
    }
    const row = UUID.test(taskId) ? await this.executions.findRecord(taskId) : null;
    if (!row || row.principal !== owner) throw taskNotFound();
    return snapshotOfRecord(row);
  }

  /**
   * Waits up to the sync window for the job: its result (or its error, as a synchronous call would answer it) when it
   * ended by then; undefined when it goes on as a task. Progress within the window goes to the request (the extension
   * has no progress notifications for a task once it is handed out).
   */
  private async window(
    job: Job,
    params: CallToolRequest['params'],
    ctx: ServerContext,
    hangUp: AbortSignal,
  ): Promise<CallToolResult | undefined> {
    const token = params._meta?.progressToken;
    const sent: Promise<unknown>[] = [];
    const listener = (event: JobEvent) => {
      if (event.type !== 'progress' || token === undefined) return;
      const { execution_id: _id, ...progress } = event.data;
      sent.push(
        ctx.mcpReq
          .notify({ method: 'notifications/progress', params: { ...progress, progressToken: token } })
          .catch(() => undefined),
      );
    };
    job.listeners.add(listener);
    // A client gone before it learnt the task id could never follow or cancel it: the job ends with it.
    const abandon = () => this.jobs.abandon(job.id);
    hangUp.addEventListener('abort', abandon);
    let timer: NodeJS.Timeout | undefined;
    try {
      if (hangUp.aborted) abandon();
      await Promise.race([job.done, new Promise((resolve) => (timer = setTimeout(resolve, this.syncWindow)))]);
    } finally {
      clearTimeout(timer);
      job.listeners.delete(listener);
      hangUp.removeEventListener('abort', abandon);
    }
    await Promise.all(sent);
    if (job.state !== 'completed' && job.state !== 'failed') return undefined;
    const task = toTask(snapshotOfJob(job), this.timing);
    if (task.error) throw new ProtocolError(task.error.code, task.error.message, task.error.data);
    return task.result;
  }

  /** The tool definition's `execution.taskSupport` (MCP 2025-11-25 tool field): `forbidden`, `optional`, `required`. */
  taskSupport(scope: ClientScope, name: string): string | undefined {
    try {
      const target = scope.view.toolCall(name, {});
      const tool = this.engine.listTools(target.serverId).find((ref) => ref.tool.name === target.name)?.tool as
        { execution?: { taskSupport?: string } } | undefined;
      return tool?.execution?.taskSupport;
    } catch {
      // An unknown tool or server: the call itself answers that, as without tasks.
      return undefined;
    }
  }
}

function declaredCapabilities(ctx: ServerContext): Record<string, unknown> {
  return ctx.mcpReq.envelope?.[CLIENT_CAPABILITIES_META_KEY as never] ?? {};
}

function hasTasks(declared: Record<string, unknown>): boolean {
  const extensions = declared.extensions as Record<string, unknown> | undefined;
  return extensions?.[TASKS_EXTENSION] !== undefined;
}

/** The extension's rule: tasks/* from a request that did not declare it are refused with -32021. */
function requireExtension(ctx: ServerContext): void {
  if (!hasTasks(declaredCapabilities(ctx))) throw missingExtension();
}

function missingExtension(): MissingRequiredClientCapabilityError {
  return new MissingRequiredClientCapabilityError(
    { requiredCapabilities: { extensions: { [TASKS_EXTENSION]: {} } } },
    `Missing required client capability: extensions["${TASKS_EXTENSION}"]`,
  );
}

function taskNotFound(): ProtocolError {
  return new ProtocolError(ProtocolErrorCode.InvalidParams, 'Failed to retrieve task: Task not found');
}
