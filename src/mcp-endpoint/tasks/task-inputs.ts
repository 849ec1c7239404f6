import { Inject, Injectable, Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { ErrorCode as RpcCode, McpError } from '@modelcontextprotocol/sdk/types.js';
import { randomUUID } from 'node:crypto';
import { APP_CONFIG } from 'src/config/config.module';
import type { AppConfig } from 'src/config/config.schema';
import { ExecutionsService } from 'src/executions/executions.service';
import type { Job } from 'src/jobs/job';
import { JobsService } from 'src/jobs/jobs.service';
import { RequestStates } from '../input-required/request-state';
import { type RpcError, rpcErrorOf } from '../input-required/pending-input';
import { type BusMessage, McpSessionBus } from '../mcp-session.bus';
import type { TaskCall } from './task-call';
import {
  type DetailedTask,
  type InputRequests,
  snapshotOfJob,
  snapshotOfRecord,
  taskTiming,
  type TaskTiming,
  toTask,
} from './task-mapping';

/** How long the replica running a task has to answer a `tasks/update` relayed to it. */
const RELAY_MS = 3000;

interface LocalTask {
  job: Job;
  call: TaskCall;
  /** Gives the task up when its questions stay unanswered (restarted by every change). */
  timer?: NodeJS.Timeout;
  /** The task shows questions now (`input_required`). */
  waiting?: boolean;
}

/** One listen stream's interest in some tasks of its principal. */
interface TaskListener {
  owner: string;
  deliver: (task: DetailedTask) => void;
}

/**
 * MCP tasks that wait for their client's input (the Tasks extension's `input_required`, ADR 0006), and the task
 * status changes that `subscriptions/listen` streams deliver as `notifications/tasks`.
 *
 * A task's job whose client can be asked runs with a `TaskCall` as its origin: the upstream's sampling, elicitation
 * and roots requests stay pending while `tasks/get` shows them as `inputRequests`, and `tasks/update` answers them.
 * The replica running the job holds them (the upstream request waits on its pooled connection), so:
 * - every status change of a task (questions asked or answered, the job's end) is published on the session bus;
 *   every replica keeps the latest questions of the tasks of others, for `tasks/get`, and tells its listen streams;
 * - a `tasks/update` reaching another replica is relayed to the holder over the same bus (as an input-required retry
 *   is), and answered with the holder's verdict. The bus, not PostgreSQL NOTIFY: answers and questions are
 *   documents (sampling messages, form schemas), NOTIFY payloads stop at 8000 bytes.
 * Questions left unanswered for `mcp.client.default-timeout` (since the last change) give the task up: the upstream
 * call is cancelled and the record says `cancelled`, `client_gone`.
 */
@Injectable()
export class TaskInputs implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('McpTaskInput');
  private readonly timing: TaskTiming;
  private readonly timeoutMs: number;
  /** Tasks of this replica whose client can be asked, by id. */
  private readonly local = new Map<string, LocalTask>();
  /** Input-waiting tasks of other replicas as they announced them (`tasks/get` here), with when to forget them. */
  private readonly remote = new Map<string, { owner: string; requests: InputRequests; until: number }>();
  /** `tasks/update`s relayed to another replica, waiting for its verdict, by correlation id. */
  private readonly relayed = new Map<string, (error: RpcError | undefined) => void>();
  /** Listen streams of this replica, by task id. */
  private readonly listeners = new Map<string, Set<TaskListener>>();
  private stopWatching: (() => void) | undefined;

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    states: RequestStates,
    private readonly bus: McpSessionBus,
    private readonly jobs: JobsService,
    private readonly executions: ExecutionsService,
  ) {
    this.timing = taskTiming(config);
    this.timeoutMs = states.roundTimeoutMs;
  }

  onModuleInit(): void {
    this.bus.onMessage((message) => void this.onBus(message));
    // Every job's end is a task status change (a REST job is a task too): told to listen streams on every replica.
    this.stopWatching = this.jobs.onFinish((job) => this.announce(job.owner, this.describe(job)));
  }

  onApplicationShutdown(): void {
    this.stopWatching?.();
    for (const entry of this.local.values()) clearTimeout(entry.timer);
  }

  /**
   * Holds the questions of a job just started with `call` as its origin. `progressToken`: the request's; while a
   * request of the call is served (its input-required rounds before the handle), the job's progress goes to it.
   */
  attach(job: Job, call: TaskCall, progressToken?: string | number): void {
    const entry: LocalTask = { job, call };
    this.local.set(job.id, entry);
    call.onChange = () => this.changed(entry);
    if (progressToken !== undefined) {
      job.listeners.add((event) => {
        if (event.type !== 'progress' || !call.sink) return;
        const { execution_id: _id, ...progress } = event.data;
        void call.sink({ method: 'notifications/progress', params: { ...progress, progressToken } } as never);
      });
    }
    // Given up (the client hung up before the handle, a round or the task's questions expired): the job ends.
    call.signal.addEventListener('abort', () => this.jobs.abandon(job.id), { once: true });
    // The call's end settles what still waits on it (a round in progress); its result is the task's, on record.
    call.start(() => job.done);
    void job.done.finally(() => {
      clearTimeout(entry.timer);
      this.local.delete(job.id);
    });
  }

  /** The questions a task of this replica waits on; undefined when it runs elsewhere or asks nothing. */
  outstanding(taskId: string): InputRequests | undefined {
    const entry = this.local.get(taskId);
    if (entry) return entry.call.outstanding();
    const known = this.remote.get(taskId);
    if (!known) return undefined;
    if (known.until < Date.now()) {
      this.remote.delete(taskId);
      return undefined;
    }
    return known.requests;
  }

  /**
   * `tasks/update`: answers the task's outstanding questions with `responses`, on whichever replica runs it. Keys not
   * outstanding (never asked, answered before, or the task asks nothing) are ignored, the extension's rule (its
   * conformance scenario sends one and wants the acknowledgement); a response of the wrong shape for an outstanding
   * key is -32602 with nothing answered. The caller checked that the task is its own. Relayed to the replica running
   * the task when that is another one: no answer from any replica within 3 s is -32602 (the answers reached nobody).
   */
  async update(taskId: string, responses: Record<string, unknown>): Promise<void> {
    const entry = this.local.get(taskId);
    if (entry) return entry.call.answer(responses, true);
    if (this.jobs.runsHere(taskId) || Object.keys(responses).length === 0) return;
    const reply = randomUUID();
    const verdict = new Promise<RpcError | undefined | 'silent'>((resolve) => {
      const timer = setTimeout(() => resolve('silent'), RELAY_MS);
      this.relayed.set(reply, (error) => {
        clearTimeout(timer);
        resolve(error);
      });
    });
    try {
      await this.bus.publish({ kind: 'task-update', taskId, responses, reply });
      const error = await verdict;
      if (error === 'silent') {
        throw new McpError(
          RpcCode.InvalidParams,
          'The task is not waiting for input on any reachable replica: it ended, or the replica running it is gone',
        );
      }
      if (error) throw new McpError(error.code, error.message, error.data);
    } finally {
      this.relayed.delete(reply);
    }
  }

  /**
   * Delivers the status changes of `taskIds` owned by `owner` (never another principal's) to a listen stream;
   * returns the function that stops it.
   */
  listen(owner: string, taskIds: readonly string[], deliver: (task: DetailedTask) => void): () => void {
    const listener: TaskListener = { owner, deliver };
    for (const id of taskIds) {
      const set = this.listeners.get(id) ?? new Set<TaskListener>();
      set.add(listener);
      this.listeners.set(id, set);
    }
    return () => {
      for (const id of taskIds) {
        const set = this.listeners.get(id);
        set?.delete(listener);
        if (set?.size === 0) this.listeners.delete(id);
      }
    };
  }

  /** The task as `tasks/get` shows it now, for a job of this process. */
  describe(job: Job): DetailedTask {
    const inputRequests = job.finished ? undefined : this.local.get(job.id)?.call.outstanding();
    return toTask({ ...snapshotOfJob(job), ...(inputRequests ? { inputRequests } : {}) }, this.timing);
  }

  /** The questions of a local task changed: its deadline restarts, and every replica is told its new status. */
  private changed(entry: LocalTask): void {
    clearTimeout(entry.timer);
    entry.timer = undefined;
    if (entry.job.finished) return; // the job's end is announced by the finish watcher
    entry.job.updatedAt = new Date();
    const waiting = Object.keys(entry.call.outstanding()).length > 0;
    // Each time the task starts waiting counts once on the record (input_rounds); rounds before the handle are the
    // call's own (PendingInput.round).
    if (waiting && !entry.waiting && entry.call.handedOut) entry.call.taskRounds += 1;
    entry.waiting = waiting;
    if (waiting) {
      entry.timer = setTimeout(() => {
        this.logger.debug(`task ${entry.job.id}: input not given within ${this.timeoutMs} ms, cancelled upstream`);
        entry.call.cancel('the MCP client did not answer the task input requests in time');
      }, this.timeoutMs);
      entry.timer.unref();
    }
    this.announce(entry.job.owner, this.describe(entry.job));
  }

  /** To every replica (this one included): a terminal task goes without its result, which is on record. */
  private announce(owner: string, task: DetailedTask): void {
    const { result: _result, ...light } = task;
    void this.bus.publish({ kind: 'task', owner, task: light }).catch(() => undefined);
  }

  private async onBus(message: BusMessage): Promise<void> {
    switch (message.kind) {
      case 'task':
        return this.heard(message.owner, message.task as unknown as DetailedTask);
      case 'task-update': {
        const entry = this.local.get(message.taskId);
        if (!entry && !this.jobs.runsHere(message.taskId)) return; // not ours: the holder answers
        let error: RpcError | undefined;
        try {
          entry?.call.answer(message.responses, true);
        } catch (failure) {
          error = rpcErrorOf(failure);
        }
        await this.bus.publish({ kind: 'task-update-reply', reply: message.reply, ...(error ? { error } : {}) });
        return;
      }
      case 'task-update-reply':
        this.relayed.get(message.reply)?.(message.error);
        return;
      case 'response':
      case 'cancel':
      case 'notify':
      case 'legacy':
      case 'ended':
      case 'input':
      case 'input-reply':
      case 'input-cancel':
        return; // sessions' (McpSessionRelay) and input-required retries' (InputRounds)
    }
  }

  /** A task's new status, from whichever replica runs it: kept for `tasks/get`, told to the streams that listen. */
  private async heard(owner: string, task: DetailedTask): Promise<void> {
    // Announced questions of a replica that died are never followed by another status: forgotten once expired.
    if (this.remote.size > 100) {
      const now = Date.now();
      for (const [id, known] of this.remote) if (known.until < now) this.remote.delete(id);
    }
    if (!this.local.has(task.taskId)) {
      if (task.status === 'input_required' && task.inputRequests) {
        this.remote.set(task.taskId, { owner, requests: task.inputRequests, until: Date.now() + this.timeoutMs });
      } else {
        this.remote.delete(task.taskId);
      }
    }
    const listeners = [...(this.listeners.get(task.taskId) ?? [])].filter((l) => l.owner === owner);
    if (listeners.length === 0) return;
    let full = task;
    if (task.status === 'completed') {
      // The result is on record (written before the job ended): read once for all of this replica's streams.
      const row = await this.executions.findRecord(task.taskId).catch(() => null);
      if (!row) return;
      full = toTask(snapshotOfRecord(row), this.timing);
    }
    for (const listener of listeners) {
      try {
        listener.deliver(full);
      } catch (error) {
        this.logger.debug(`notifications/tasks: ${(error as Error).message}`);
      }
    }
  }
}
