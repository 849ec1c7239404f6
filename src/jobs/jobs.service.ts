import {
  type BeforeApplicationShutdown,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
  type OnModuleInit,
  Optional,
} from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { Progress } from '@modelcontextprotocol/sdk/types.js';
import type { FastifyInstance } from 'fastify';
import { PassThrough, type Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { ADMIN_SCOPE } from 'src/auth/scopes';
import type { Principal } from 'src/auth/principal';
import { translateEngineError } from 'src/mcp/engine-error';
import { AppException } from 'src/common/errors/app.exception';
import { toAppException } from 'src/common/errors/to-app-exception';
import { ErrorCode } from 'src/common/errors/error-code';
import type { ExecutionEntity } from 'src/executions/execution.entity';
import { PgNotifications } from 'src/database/pg-notifications';
import { ExecutionsService } from 'src/executions/executions.service';
import { McpEngine } from 'src/mcp/mcp-engine';
import type { ServerNotificationEvent } from 'src/mcp/mcp-engine.events';
import type { CallEndReason, CallHooks, PreparedCall } from 'src/calls/call.types';
import { toExecutionResultDto } from 'src/executions/dto/execution-result.dto';
import type { JobState } from './dto/job.dto';
import { finalEventOf, Job, type JobEvent, type JobEventType } from './job';

/** A finished job stays in memory this long (its events can be replayed), then only its database row remains. */
const FINISHED_RETENTION_MS = 10 * 60_000;
const MAX_FINISHED = 1_000;
/** A comment line every 15 s keeps proxies from closing a quiet stream. */
const HEARTBEAT_MS = 15_000;
/** How long a gateway stop waits for its jobs' calls to give up after being cancelled. */
const STOP_WAIT_MS = 5_000;
/** Cancel requests for jobs of other gateway instances travel on this PostgreSQL channel (payload: the job id). */
export const JOBS_CHANNEL = 'globalmcp_jobs';
/** How long a cancel of another instance's job waits for its record to leave `running`. */
const REMOTE_CANCEL_WAIT_MS = 5_000;
/** How often a stream of another instance's job looks at its record. */
const REMOTE_POLL_MS = 500;

/**
 * Tool calls run as jobs: started from a prepared call (its `running` row already written), they go on when the
 * HTTP client that started them leaves, report upstream progress and the server's log messages as events, and can be
 * cancelled (the engine sends `notifications/cancelled` upstream). Jobs live in this process: a gateway stop cancels
 * them upstream and records them `interrupted` (a hard kill leaves the row `running`, and the next start marks it
 * `interrupted`). Events are kept in memory per job for `Last-Event-ID` resumption; a job evicted from memory is
 * answered from its database row. Behind a load balancer the follow-up requests may reach another instance: a cancel
 * there is relayed with `NOTIFY globalmcp_jobs` to every instance (the one running the job aborts it), and its event
 * stream follows the record until it ends (no progress: that stays with the instance running the job).
 */
@Injectable()
export class JobsService implements OnModuleInit, OnApplicationBootstrap, OnModuleDestroy, BeforeApplicationShutdown {
  private readonly logger = new Logger('Jobs');
  private readonly jobs = new Map<string, Job>();
  /** Told when a job of this process ends (MCP task status notifications, src/mcp-endpoint/tasks). */
  private readonly finishWatchers = new Set<(job: Job) => void>();
  private stopping = false;
  private sweeper: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;

  constructor(
    private readonly engine: McpEngine,
    private readonly executions: ExecutionsService,
    private readonly adapterHost: HttpAdapterHost,
    @Optional() private readonly notifications?: PgNotifications,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    this.unsubscribe = await this.notifications?.subscribe(JOBS_CHANNEL, {
      onPayload: (id) => {
        const job = this.jobs.get(id);
        if (job && !job.finished) job.controller.abort(CANCEL_REASON);
      },
    });
  }

  onModuleInit(): void {
    this.engine.on('server.notification', this.onNotification);
    // The HTTP listener closes before the modules: a stream of a running job would hold that close for the whole
    // grace period, so the jobs stop first (and their streams end with an `interrupted` event).
    const fastify = this.adapterHost.httpAdapter?.getInstance<FastifyInstance>();
    fastify?.addHook('preClose', (done) => {
      void this.stopAll().finally(() => done());
    });
    this.sweeper = setInterval(() => this.sweep(), 60_000).unref();
  }

  onModuleDestroy(): void {
    this.engine.off('server.notification', this.onNotification);
    clearInterval(this.sweeper);
    this.unsubscribe?.();
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.stopAll();
  }

  /** Jobs running in this process now. */
  get runningCount(): number {
    return [...this.jobs.values()].filter((job) => !job.finished).length;
  }

  /**
   * Starts a prepared call as a job owned by `principal` and returns it at once. The call is not tied to any HTTP
   * request: only `cancel` (or a gateway stop) ends it early. `origin`: who answers the upstream's requests to the
   * client during the call (an MCP task whose client can be asked, src/mcp-endpoint/tasks); none for a REST job.
   */
  start(prepared: PreparedCall, principal: Principal | undefined, options: Pick<CallHooks, 'origin'> = {}): Job {
    if (!prepared.run) throw new Error('JobsService.start: an idempotent repeat has nothing to run');
    if (this.stopping) {
      throw new AppException(ErrorCode.SERVER_UNAVAILABLE, 'The gateway is stopping: no new jobs');
    }
    const job = new Job(
      prepared.executionId,
      principal?.id ?? 'anonymous',
      prepared.serverId,
      prepared.toolName,
      prepared.startedAt,
    );
    this.jobs.set(job.id, job);
    job.push('status', {
      status: 'running',
      server_id: job.serverId,
      tool_name: job.toolName,
      started_at: job.startedAt.toISOString(),
    });
    job.done = prepared
      .run({
        signal: job.controller.signal,
        ...(options.origin ? { origin: options.origin } : {}),
        onProgress: (progress: Progress) =>
          job.push('progress', {
            progress: progress.progress,
            ...(progress.total !== undefined ? { total: progress.total } : {}),
            ...(progress.message !== undefined ? { message: progress.message } : {}),
          }),
        endReason: () => endReasonOf(job.controller.signal),
      })
      .then(
        (outcome) => this.finish(job, 'completed', 'result', { ...toExecutionResultDto(outcome) }),
        (error: unknown) => this.fail(job, error),
      );
    return job;
  }

  /**
   * Ends a running job of this process whose client went away before it could learn the job's id (an MCP task still
   * inside its synchronous window): cancelled upstream, recorded `cancelled` with reason `client_gone`.
   */
  abandon(id: string): void {
    const job = this.jobs.get(id);
    if (job && !job.finished) job.controller.abort(CLIENT_GONE_REASON);
  }

  /** Calls `watcher` with each job of this process that ends; returns the function that stops it. */
  onFinish(watcher: (job: Job) => void): () => void {
    this.finishWatchers.add(watcher);
    return () => this.finishWatchers.delete(watcher);
  }

  /** Whether a job runs in this process now (whoever owns it). */
  runsHere(id: string): boolean {
    const job = this.jobs.get(id);
    return job !== undefined && !job.finished;
  }

  /** The job if the caller may see it (its owner, or an admin); undefined when it is not in this process's memory. */
  find(id: string, principal: Principal | undefined): Job | undefined {
    const job = this.jobs.get(id);
    return job && mayAccess(job.owner, principal) ? job : undefined;
  }

  /**
   * Cancels a running job: its signal aborts the upstream call (the engine sends `notifications/cancelled`), and it
   * ends `cancelled`. 404 for an unknown id or another caller's; 409 when it has already finished, or runs on another
   * gateway instance (jobs live in the process that started them).
   */
  async cancel(id: string, principal: Principal | undefined): Promise<{ id: string }> {
    const job = this.find(id, principal);
    if (!job) {
      const row = await this.visibleRow(id, principal);
      if (row.status !== 'running') {
        throw AppException.conflict(`Execution '${id}' has already finished (${row.status})`, {
          execution_id: id,
          status: row.status,
        });
      }
      return this.cancelElsewhere(row);
    }
    if (job.finished) {
      throw AppException.conflict(`Execution '${id}' has already finished (${job.state})`, {
        execution_id: id,
        status: job.state,
      });
    }
    job.controller.abort(CANCEL_REASON);
    await job.done;
    return job;
  }

  /** Relays the cancel of a job this instance does not run, then waits for its record to leave `running`. */
  private async cancelElsewhere(row: ExecutionEntity): Promise<{ id: string }> {
    if (!this.notifications) {
      throw AppException.conflict(`Execution '${row.id}' runs on another gateway instance; cancel it there`, {
        execution_id: row.id,
      });
    }
    await this.notifications.notify(JOBS_CHANNEL, row.id);
    const deadline = Date.now() + REMOTE_CANCEL_WAIT_MS;
    while (Date.now() < deadline) {
      await sleep(100);
      const now = await this.executions.findRecord(row.id);
      if (now?.status !== 'running') return { id: row.id };
    }
    throw new AppException(
      ErrorCode.TIMEOUT_EXCEEDED,
      `Cancellation of execution '${row.id}' was sent to the gateway instance running it, which has not confirmed it`,
      { execution_id: row.id },
    );
  }

  /**
   * The job's events as a Server-Sent Events stream: those after `lastEventId` first (replay), then live ones; the
   * stream ends after the final event (`result`, `error`, `cancelled` or `interrupted`). A job no longer in memory is
   * answered from its row: one final event (or a `status` event when it runs on another gateway instance). With
   * `cancelOnClose`, the client leaving cancels the job (a synchronous call streamed as SSE).
   */
  async stream(
    id: string,
    principal: Principal | undefined,
    lastEventId?: number,
    options: { cancelOnClose?: boolean } = {},
  ): Promise<Readable> {
    const out = new PassThrough();
    const write = (event: JobEvent) =>
      out.write(`id: ${event.id}\nevent: ${event.type}\ndata: ${JSON.stringify(event.data)}\n\n`);
    const job = this.find(id, principal);
    if (!job) {
      const row = await this.visibleRow(id, principal);
      if (row.status === 'running') {
        this.followRecord(row, out, write);
        return out;
      }
      write(finalEventOf(row));
      out.end();
      return out;
    }
    for (const event of job.events) if (lastEventId === undefined || event.id > lastEventId) write(event);
    if (job.finished) {
      out.end();
      return out;
    }
    // Nothing is written after the end: the heartbeat and the listener go with the final event.
    const stop = () => {
      clearInterval(heartbeat);
      job.listeners.delete(listener);
    };
    const listener = (event: JobEvent) => {
      write(event);
      if (job.finished) {
        stop();
        out.end();
      }
    };
    job.listeners.add(listener);
    const heartbeat = setInterval(() => out.write(': heartbeat\n\n'), HEARTBEAT_MS).unref();
    out.once('close', () => {
      stop();
      if (options.cancelOnClose && !job.finished) job.controller.abort(CLIENT_GONE_REASON);
    });
    return out;
  }

  /** The stream of a job another instance runs: its `status` now, then its final event once its record has one. */
  private followRecord(row: ExecutionEntity, out: PassThrough, write: (event: JobEvent) => void): void {
    write(finalEventOf(row));
    let closed = false;
    out.once('close', () => (closed = true));
    const poll = async (): Promise<void> => {
      while (!closed && !this.stopping) {
        await sleep(REMOTE_POLL_MS);
        const now = await this.executions.findRecord(row.id).catch(() => row);
        if (!closed && now && now.status !== 'running') {
          write({ ...finalEventOf(now), id: 1 });
          break;
        }
      }
      if (!closed) out.end();
    };
    void poll();
  }

  private finish(job: Job, state: JobState, type: JobEventType, data: Record<string, unknown>): void {
    job.state = state;
    job.finishedAt = Date.now();
    job.push(type, { status: state, ...data });
    for (const watcher of this.finishWatchers) {
      try {
        watcher(job);
      } catch (error) {
        this.logger.warn(`A job watcher failed: ${(error as Error).message}`);
      }
    }
  }

  private fail(job: Job, error: unknown): void {
    const reason: unknown = job.controller.signal.reason;
    if (reason === CANCEL_REASON || reason === CLIENT_GONE_REASON) {
      this.finish(job, 'cancelled', 'cancelled', {
        message: reason === CANCEL_REASON ? 'Cancelled by the caller' : 'Cancelled: the client went away',
      });
      return;
    }
    if (reason === STOP_REASON) {
      this.finish(job, 'interrupted', 'interrupted', { message: 'The gateway stopped before the job finished' });
      return;
    }
    const { exception } = toAppException(error, [translateEngineError]);
    this.finish(job, 'failed', 'error', {
      error: { code: exception.code, message: exception.message, details: exception.details ?? null },
    });
  }

  private readonly onNotification = ({ serverId, notification }: ServerNotificationEvent): void => {
    // MCP does not tie log messages to a request: a job gets those its server sends while it runs.
    if (notification.method !== 'notifications/message') return;
    for (const job of this.jobs.values()) {
      if (!job.finished && job.serverId === serverId) job.push('log', { ...(notification.params ?? {}) });
    }
  };

  private async visibleRow(id: string, principal: Principal | undefined): Promise<ExecutionEntity> {
    const row = await this.executions.findRecord(id);
    if (!row || !mayAccess(row.principal, principal)) {
      throw AppException.notFound(`Execution '${id}'`, { execution_id: id });
    }
    return row;
  }

  private async stopAll(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    const running = [...this.jobs.values()].filter((job) => !job.finished);
    if (running.length === 0) return;
    this.logger.warn(`Gateway stopping: ${running.length} running job(s) cancelled upstream and marked interrupted`);
    for (const job of running) job.controller.abort(STOP_REASON);
    await Promise.race([
      Promise.allSettled(running.map((job) => job.done)),
      new Promise((resolve) => setTimeout(resolve, STOP_WAIT_MS).unref()),
    ]);
  }

  private sweep(): void {
    const now = Date.now();
    const finished = [...this.jobs.values()].filter((job) => job.finishedAt !== undefined);
    const excess = finished.length - MAX_FINISHED;
    finished
      .sort((a, b) => a.finishedAt! - b.finishedAt!)
      .forEach((job, index) => {
        if (index < excess || now - job.finishedAt! > FINISHED_RETENTION_MS) this.jobs.delete(job.id);
      });
  }
}

const CANCEL_REASON = new Error('cancelled by the caller');
const CLIENT_GONE_REASON = new Error('the client of a streamed call went away');
const STOP_REASON = new Error('the gateway is stopping');

/** How the record names the end of a job this service cut short. */
function endReasonOf(signal: AbortSignal): CallEndReason | undefined {
  if (!signal.aborted) return undefined;
  if (signal.reason === CANCEL_REASON) return 'cancelled-by-caller';
  if (signal.reason === CLIENT_GONE_REASON) return 'client-gone';
  if (signal.reason === STOP_REASON) return 'gateway-shutdown';
  return undefined;
}

function mayAccess(owner: string, principal: Principal | undefined): boolean {
  if (!principal) return owner === 'anonymous';
  return principal.scopes.has(ADMIN_SCOPE) || principal.id === owner;
}
