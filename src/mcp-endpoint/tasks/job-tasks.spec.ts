import type { Server, ServerContext } from '@modelcontextprotocol/server';
import type { Principal } from 'src/auth/principal';
import type { CallPipeline } from 'src/calls/call-pipeline';
import { AppException } from 'src/common/errors/app.exception';
import { ErrorCode } from 'src/common/errors/error-code';
import type { AppConfig } from 'src/config/config.schema';
import type { ExecutionEntity } from 'src/executions/execution.entity';
import type { ExecutionsService } from 'src/executions/executions.service';
import { Job } from 'src/jobs/job';
import type { JobsService } from 'src/jobs/jobs.service';
import type { McpEngine } from 'src/mcp/mcp-engine';
import type { ClientScope } from '../client-scope';
import { JobTasks } from './job-tasks';
import type { TaskInputs } from './task-inputs';
import { snapshotOfJob, TASKS_EXTENSION, toTask } from './task-mapping';

/** TaskInputs of a replica where no task waits for input (task-inputs.spec.ts covers those). */
const noInput = (update = jest.fn()) =>
  ({
    describe: (job: Job) => toTask(snapshotOfJob(job), { ttlMs: 1, pollIntervalMs: 1_000 }),
    outstanding: () => undefined,
    update,
  }) as unknown as TaskInputs;

const ID = '6f1c2d3e-0000-4000-8000-000000000001';
const alice: Principal = { kind: 'api-key', id: 'alice', subject: 'a', scopes: new Set(), servers: null, tier: null };
const admin: Principal = { ...alice, id: 'admin', scopes: new Set(['admin']) };

type Handler = (params: Record<string, unknown>, ctx: ServerContext) => Promise<unknown>;

const ctx = (declared: boolean, inputResponses?: Record<string, unknown>) =>
  ({
    mcpReq: {
      envelope: {
        'io.modelcontextprotocol/clientCapabilities': declared ? { extensions: { [TASKS_EXTENSION]: {} } } : {},
      },
      inputResponses,
      requestState: () => undefined,
    },
  }) as unknown as ServerContext;

/** JobTasks over a job table and a record table the test fills; its handlers as a server would get them. */
function setup(principal: Principal) {
  const jobs = new Map<string, Job>();
  const rows = new Map<string, ExecutionEntity>();
  const cancel = jest.fn((_id: string, _p: Principal | undefined): Promise<unknown> => Promise.resolve({ id: ID }));
  const jobsService = {
    // As JobsService: the owner, or an admin, finds a job of this process.
    find: (id: string, p: Principal | undefined) => {
      const job = jobs.get(id);
      return job && (p?.id === job.owner || p?.scopes.has('admin')) ? job : undefined;
    },
    cancel,
  } as unknown as JobsService;
  const executions = { findRecord: (id: string) => Promise.resolve(rows.get(id) ?? null) } as ExecutionsService;
  const config = {
    mcp: { executions: { retentionDays: 30 }, endpoint: { taskSyncWindow: 200, taskPollInterval: 1_000 } },
  } as AppConfig;
  const update = jest.fn(() => Promise.resolve());
  const tasks = new JobTasks(
    config,
    {} as CallPipeline,
    jobsService,
    executions,
    {} as McpEngine,
    noInput(update),
    {} as never,
  );
  const handlers = new Map<string, Handler>();
  const server = {
    setRequestHandler: (method: string, _schemas: unknown, handler: Handler) => handlers.set(method, handler),
  } as unknown as Server;
  tasks.register(server, principal);
  const call = (method: string, params: Record<string, unknown>, context = ctx(true, {})) =>
    handlers.get(method)!(params, context);
  return { jobs, rows, cancel, call, update };
}

describe('JobTasks', () => {
  it("tasks/update hands a running task's responses to TaskInputs; an ended task's are ignored", async () => {
    const { jobs, rows, call, update } = setup(alice);
    jobs.set(ID, new Job(ID, 'alice', 'tasks', 'confirm', new Date()));
    const responses = { 'elicitation-1': { action: 'accept' } };
    expect(await call('tasks/update', { taskId: ID }, ctx(true, responses))).toEqual({});
    expect(update).toHaveBeenCalledWith(ID, responses);
    jobs.clear();
    rows.set(ID, { id: ID, principal: 'alice', status: 'completed', startedAt: new Date(), result: null } as never);
    update.mockClear();
    expect(await call('tasks/update', { taskId: ID }, ctx(true, responses))).toEqual({});
    expect(update).not.toHaveBeenCalled();
  });

  it("answers the caller's own job, from memory or from its record", async () => {
    const { jobs, rows, call } = setup(alice);
    const job = new Job(ID, 'alice', 'everything', 'long', new Date('2026-12-07T10:00:00Z'));
    jobs.set(ID, job);
    expect(await call('tasks/get', { taskId: ID })).toEqual(expect.objectContaining({ taskId: ID, status: 'working' }));
    jobs.clear();
    rows.set(ID, { id: ID, principal: 'alice', status: 'completed', startedAt: new Date(), result: null } as never);
    expect(await call('tasks/get', { taskId: ID })).toEqual(expect.objectContaining({ status: 'completed' }));
  });

  it("refuses another principal's task like an unknown one, an admin's too, and never queries a malformed id", async () => {
    const { jobs, rows, call } = setup(admin);
    jobs.set(ID, new Job(ID, 'alice', 'everything', 'long', new Date()));
    await expect(call('tasks/get', { taskId: ID })).rejects.toMatchObject({ code: -32602 });
    jobs.clear();
    rows.set(ID, { id: ID, principal: 'alice', status: 'running', startedAt: new Date() } as ExecutionEntity);
    await expect(call('tasks/cancel', { taskId: ID })).rejects.toMatchObject({ code: -32602 });
    await expect(call('tasks/get', { taskId: "x'; drop table" })).rejects.toMatchObject({
      code: -32602,
      message: 'Failed to retrieve task: Task not found',
    });
  });

  it('gates every method on the extension (-32021) and tasks/update on inputResponses (-32602)', async () => {
    const { jobs, call } = setup(alice);
    jobs.set(ID, new Job(ID, 'alice', 'everything', 'long', new Date()));
    for (const method of ['tasks/get', 'tasks/update', 'tasks/cancel']) {
      await expect(call(method, { taskId: ID }, ctx(false, {}))).rejects.toMatchObject({ code: -32021 });
    }
    await expect(call('tasks/update', { taskId: ID }, ctx(true))).rejects.toMatchObject({ code: -32602 });
    expect(await call('tasks/update', { taskId: ID }, ctx(true, { 'any-key': {} }))).toEqual({});
  });

  it('cancels a running job; acknowledges an ended one without cancelling, and an unconfirmed relay', async () => {
    const { jobs, rows, cancel, call } = setup(alice);
    jobs.set(ID, new Job(ID, 'alice', 'everything', 'long', new Date()));
    expect(await call('tasks/cancel', { taskId: ID })).toEqual({});
    expect(cancel).toHaveBeenCalledWith(ID, alice);

    jobs.clear();
    rows.set(ID, { id: ID, principal: 'alice', status: 'cancelled', startedAt: new Date(), error: null } as never);
    cancel.mockClear();
    expect(await call('tasks/cancel', { taskId: ID })).toEqual({});
    expect(cancel).not.toHaveBeenCalled();

    rows.set(ID, { id: ID, principal: 'alice', status: 'running', startedAt: new Date() } as ExecutionEntity);
    cancel.mockRejectedValueOnce(new AppException(ErrorCode.TIMEOUT_EXCEEDED, 'not confirmed'));
    expect(await call('tasks/cancel', { taskId: ID })).toEqual({});
    cancel.mockRejectedValueOnce(new AppException(ErrorCode.SERVER_UNAVAILABLE, 'stopping'));
    await expect(call('tasks/cancel', { taskId: ID })).rejects.toMatchObject({ code: -32603 });
  });

  describe('tools/call as a task (a tool without a task hint)', () => {
    /** JobTasks whose pipeline prepares a call and whose JobsService starts a job the test finishes by hand. */
    function starting() {
      const job = new Job(ID, 'alice', 'everything', 'long', new Date());
      let finish!: () => void;
      job.done = new Promise<void>((resolve) => (finish = resolve));
      const abandon = jest.fn();
      const jobsService = { start: () => job, abandon } as unknown as JobsService;
      const pipeline = { prepare: () => Promise.resolve({ executionId: ID, run: () => undefined }) };
      const engine = { listTools: () => [] } as unknown as McpEngine;
      const config = {
        mcp: { executions: { retentionDays: 30 }, endpoint: { taskSyncWindow: 200, taskPollInterval: 1_000 } },
      } as AppConfig;
      const tasks = new JobTasks(
        config,
        pipeline as unknown as CallPipeline,
        jobsService,
        {} as never,
        engine,
        noInput(),
        {} as never,
      );
      const hangUp = new AbortController();
      const scope = {
        principal: alice,
        signal: hangUp.signal,
        view: {
          toolCall: (name: string, args: Record<string, unknown>) => ({
            serverId: 'everything',
            name,
            arguments: args,
          }),
        },
      } as unknown as ClientScope;
      const call = () => tasks.call(scope, { name: 'long', arguments: {} }, ctx(true));
      return { job, finish, abandon, hangUp, call };
    }

    it('answers the result itself when the job ends within the window', async () => {
      const { job, finish, call } = starting();
      const answer = call();
      job.state = 'completed';
      job.push('result', {
        status: 'completed',
        result: { content: [{ type: 'text', text: 'fast' }], is_error: false },
      });
      finish();
      expect(await answer).toEqual({ content: [{ type: 'text', text: 'fast' }] });
    });

    it('answers a task when it runs on; a client gone within the window abandons its job', async () => {
      const { abandon, hangUp, call } = starting();
      const answer = call();
      hangUp.abort();
      expect(await answer).toEqual(expect.objectContaining({ resultType: 'task', taskId: ID, status: 'working' }));
      expect(abandon).toHaveBeenCalledWith(ID);
    });
  });
});
