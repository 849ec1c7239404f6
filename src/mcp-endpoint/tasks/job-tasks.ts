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
import { InputRounds } from '../input-required/input-rounds';
import { toMcpError } from '../mcp-errors';
import { toolCallRequest } from '../tool-call.bridge';
import { TaskCall } from './task-call';
import { TaskInputs } from './task-inputs';
import {
  type DetailedTask,
  type JobSnapshot,
  snapshotOfJob,
  snapshotOfRecord,
  TASKS_EXTENSION,
  taskTiming,
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
 * by JobsService (PostgreSQL NOTIFY). A task whose upstream asks its client something is `input_required` and
 * `tasks/update` answers it (TaskInputs, on any replica). Only the principal that started a job sees it as a task (no
 * admin override: the extension has no listing, and a task id is the caller's own bearer of state). Nothing here
 * writes a record.
 */
@Injectable()
export class JobTasks {
  private readonly logger = new Logger('McpTasks');
  private readonly timing: TaskTiming;
  /** How long a call of a tool without a task hint may run before its client gets a task (`task-sync-window`). */
  private readonly syncWindow: number;
  /** Whether upstream questions may reach the client at all (`mcp.endpoint.forward-client-capabilities`). */
  private readonly forwards: boolean;

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly pipeline: CallPipeline,
    private readonly jobs: JobsService,
    private readonly executions: ExecutionsService,
    private readonly engine: McpEngine,
    private readonly inputs: TaskInputs,
    private readonly rounds: InputRounds,
  ) {
    this.timing = taskTiming(config);
    this.syncWindow = config.mcp.endpoint.taskSyncWindow;
    this.forwards = config.mcp.endpoint.forwardClientCapabilities;
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

  /**
   * Starts the call as a job; its result if it ends within the window (a tool without a task hint), else the task.
   * When the client can be asked (it declared sampling, elicitation or roots), the job runs with a `TaskCall` as its
   * origin: an `optional` tool's task is handed out at once and its questions wait in `tasks/get`; a `required`
   * tool's questions within the window are input-required rounds of this request (the extension: MRTR before the
   * task is created, synchronously), and its task is handed out at the first step that is not a question.
   */
  async call(
    scope: ClientScope,
    params: CallToolRequest['params'],
    ctx: ServerContext,
  ): Promise<CallToolResult | CreateTaskResult> {
    // The same request a direct call makes (a virtual server's view renames and adds its fixed arguments, ADR 0009).
    const request = toolCallRequest(scope, params);
    const support = this.taskSupport(scope, params.name);
    const declared = declaredCapabilities(ctx);
    const asks = this.forwards && Object.values(CLIENT_CAPABILITY_FOR).some((c) => declared[c] !== undefined);
    const rounds = asks && support === 'required' && this.syncWindow > 0;
    let job: Job | undefined;
    let call: TaskCall | undefined;
    try {
      const prepared = await this.pipeline.prepare(request);
      call = asks ? new TaskCall(declared, this.syncWindow, () => this.handle(job!)) : undefined;
      if (call && !rounds) call.handedOut = true;
      // The `running` row is written: a tasks/get for this id resolves on every replica from now on.
      job = this.jobs.start(prepared, scope.principal, call ? { origin: call } : {});
    } catch (error) {
      throw toMcpError(error, 'tool');
    }
    if (call) this.inputs.attach(job, call, params._meta?.progressToken);
    if (call && rounds) return (await this.rounds.serveStarted(ctx, params.name, scope.signal, call)) as never;
    if (support !== 'optional' && support !== 'required' && this.syncWindow > 0) {
      const ended = await this.window(job, params, ctx, scope.signal);
      if (ended) return ended;
    }
    return this.handle(job);
  }

  /** The task handle (`CreateTaskResult`): the task without its result, error or questions (those are tasks/get's). */
  private handle(job: Job): CreateTaskResult {
    const { result: _r, error: _e, inputRequests: _i, ...task } = this.inputs.describe(job);
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
      // The task must exist and be the caller's; then its questions are answered wherever it runs (TaskInputs). A task
      // that ended has none outstanding: the responses are ignored (the extension's rule for keys not outstanding).
      const task = await this.snapshot(params.taskId, principal);
      if (task.status === 'running') await this.inputs.update(params.taskId, ctx.mcpReq.inputResponses);
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
      if (job.owner !== owner) throw taskNotFound();
      return withInput(snapshotOfJob(job), this.inputs.outstanding(taskId));
    }
    const row = UUID.test(taskId) ? await this.executions.findRecord(taskId) : null;
    if (!row || row.principal !== owner) throw taskNotFound();
    // Another replica runs it: its questions are those it announced (TaskInputs), the rest is on record.
    return withInput(snapshotOfRecord(row), row.status === 'running' ? this.inputs.outstanding(taskId) : undefined);
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

function withInput(snapshot: JobSnapshot, inputRequests: JobSnapshot['inputRequests']): JobSnapshot {
  return inputRequests && Object.keys(inputRequests).length > 0 ? { ...snapshot, inputRequests } : snapshot;
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
