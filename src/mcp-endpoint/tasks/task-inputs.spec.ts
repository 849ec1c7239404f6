import type { AppConfig } from 'src/config/config.schema';
import type { ExecutionsService } from 'src/executions/executions.service';
import { Job } from 'src/jobs/job';
import type { JobsService } from 'src/jobs/jobs.service';
import type { RequestStates } from '../input-required/request-state';
import type { BusMessage, McpSessionBus } from '../mcp-session.bus';
import { TaskCall } from './task-call';
import { TaskInputs } from './task-inputs';

const ID = '6f1c2d3e-0000-4000-8000-000000000002';
const ELICIT = { mode: 'form', message: 'Sure?', requestedSchema: { type: 'object', properties: {} } };
const ACCEPT = { action: 'accept', content: {} };
const never = new AbortController().signal;
const tick = () => new Promise((resolve) => setImmediate(resolve));

/** TaskInputs on a bus that delivers to this replica what it publishes, with what the test says other replicas do. */
function setup(options: { runsHere?: boolean; elsewhere?: (m: BusMessage) => BusMessage | undefined } = {}) {
  const handlers: ((m: BusMessage) => void)[] = [];
  const published: BusMessage[] = [];
  const bus = {
    onMessage: (h: (m: BusMessage) => void) => handlers.push(h),
    publish: (m: BusMessage) => {
      published.push(m);
      for (const h of handlers) h(m);
      const answer = options.elsewhere?.(m);
      if (answer) setImmediate(() => handlers.forEach((h) => h(answer)));
      return Promise.resolve();
    },
  } as unknown as McpSessionBus;
  const abandon = jest.fn();
  const jobs = { onFinish: () => () => undefined, runsHere: () => options.runsHere ?? false, abandon };
  const executions = { findRecord: () => Promise.resolve(null) } as unknown as ExecutionsService;
  const config = {
    mcp: { executions: { retentionDays: 1 }, endpoint: { taskPollInterval: 500 } },
  } as AppConfig;
  const inputs = new TaskInputs(
    config,
    { roundTimeoutMs: 1_000 } as RequestStates,
    bus,
    jobs as unknown as JobsService,
    executions,
  );
  inputs.onModuleInit();
  const deliver = (m: BusMessage) => handlers.forEach((h) => h(m));
  return { inputs, published, abandon, deliver };
}

/** A running job of `owner` whose upstream asks one question through its TaskCall, then answers what it got. */
function asking(inputs: TaskInputs, owner = 'alice') {
  const job = new Job(ID, owner, 'tasks', 'confirm', new Date());
  let finish!: () => void;
  job.done = new Promise<void>((resolve) => (finish = resolve));
  const call = new TaskCall({ elicitation: {} }, 1_000, () => ({}));
  call.handedOut = true;
  inputs.attach(job, call);
  const answer = call.request('elicitation/create', ELICIT, never);
  return { job, call, answer, finish };
}

const announced = (published: BusMessage[]) =>
  published.filter((m): m is Extract<BusMessage, { kind: 'task' }> => m.kind === 'task').map((m) => m.task.status);

describe('TaskInputs', () => {
  it('a question makes the task input_required; tasks/update answers the upstream and the task works again', async () => {
    const { inputs, published } = setup();
    const { job, answer } = asking(inputs);
    expect(inputs.outstanding(ID)).toEqual({ 'elicitation-1': { method: 'elicitation/create', params: ELICIT } });
    expect(inputs.describe(job)).toEqual(expect.objectContaining({ status: 'input_required', pollIntervalMs: 500 }));
    await inputs.update(ID, { 'elicitation-1': ACCEPT, 'never-asked': ACCEPT });
    await expect(answer).resolves.toEqual(ACCEPT);
    expect(inputs.outstanding(ID)).toEqual({});
    expect(announced(published)).toEqual(['input_required', 'working']);
  });

  it("sends the job's progress to the request being served, if any (rounds before the handle)", () => {
    const { inputs } = setup();
    const job = new Job(ID, 'alice', 'tasks', 'confirm', new Date());
    const call = new TaskCall({ elicitation: {} }, 1_000, () => ({}));
    inputs.attach(job, call, 'p-1');
    job.push('progress', { progress: 1, total: 2 }); // no request served now: nowhere to go
    const sent: unknown[] = [];
    call.sink = (n) => Promise.resolve(void sent.push(n));
    job.push('progress', { progress: 2, total: 2 });
    expect(sent).toEqual([
      { method: 'notifications/progress', params: { progress: 2, total: 2, progressToken: 'p-1' } },
    ]);
  });

  it('a malformed response is -32602 and answers nothing', async () => {
    const { inputs } = setup();
    asking(inputs);
    await expect(inputs.update(ID, { 'elicitation-1': { action: 'perhaps' } })).rejects.toMatchObject({
      code: -32602,
    });
    expect(Object.keys(inputs.outstanding(ID) ?? {})).toEqual(['elicitation-1']);
  });

  it('questions nobody answers within the bound give the job up', () => {
    jest.useFakeTimers();
    try {
      const { inputs, abandon } = setup();
      asking(inputs);
      jest.advanceTimersByTime(999);
      expect(abandon).not.toHaveBeenCalled();
      jest.advanceTimersByTime(2);
      expect(abandon).toHaveBeenCalledWith(ID);
    } finally {
      jest.useRealTimers();
    }
  });

  it("relays an update of another replica's task and takes its verdict", async () => {
    const { inputs, published } = setup({
      elsewhere: (m) =>
        m.kind === 'task-update'
          ? { kind: 'task-update-reply', reply: m.reply, error: { code: -32602, message: 'bad answer' } }
          : undefined,
    });
    await expect(inputs.update(ID, { k: ACCEPT })).rejects.toMatchObject({
      code: -32602,
      message: expect.stringContaining('bad answer'),
    });
    expect(published[0]).toEqual(
      expect.objectContaining({ kind: 'task-update', taskId: ID, responses: { k: ACCEPT } }),
    );
    // Nothing to relay: an empty update is acknowledged at once, as one for a job running here without questions.
    await expect(inputs.update(ID, {})).resolves.toBeUndefined();
    await expect(setup({ runsHere: true }).inputs.update(ID, { k: ACCEPT })).resolves.toBeUndefined();
  });

  it("answers a relayed update for its own task, and keeps another replica's questions for tasks/get", async () => {
    const holder = setup();
    const { answer } = asking(holder.inputs);
    holder.deliver({ kind: 'task-update', taskId: ID, responses: { 'elicitation-1': ACCEPT }, reply: 'r1' });
    await expect(answer).resolves.toEqual(ACCEPT);
    await tick();
    expect(holder.published).toContainEqual({ kind: 'task-update-reply', reply: 'r1' });

    const other = setup();
    const requests = { 'elicitation-1': { method: 'elicitation/create', params: ELICIT } };
    other.deliver({
      kind: 'task',
      owner: 'alice',
      task: { taskId: ID, status: 'input_required', inputRequests: requests },
    });
    expect(other.inputs.outstanding(ID)).toEqual(requests);
    other.deliver({ kind: 'task', owner: 'alice', task: { taskId: ID, status: 'working' } });
    expect(other.inputs.outstanding(ID)).toBeUndefined();
  });

  it("tells a listener of its principal's tasks only", async () => {
    const { inputs, deliver } = setup();
    const seen: string[] = [];
    const stop = inputs.listen('alice', [ID], (task) => seen.push(`${task.taskId}:${task.status}`));
    deliver({ kind: 'task', owner: 'bob', task: { taskId: ID, status: 'working' } });
    deliver({ kind: 'task', owner: 'alice', task: { taskId: 'other', status: 'working' } });
    deliver({ kind: 'task', owner: 'alice', task: { taskId: ID, status: 'input_required', inputRequests: {} } });
    await tick();
    expect(seen).toEqual([`${ID}:input_required`]);
    stop();
    deliver({ kind: 'task', owner: 'alice', task: { taskId: ID, status: 'working' } });
    await tick();
    expect(seen).toHaveLength(1);
  });
});
