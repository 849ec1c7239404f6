import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { ADMIN_HEADERS } from '../support/auth';
import { REPO } from '../support/paths';
import { createTestDatabase, type TestDatabase } from '../support/test-database';
import { startTestGateway, type TestGateway } from '../support/test-gateway';
import { waitFor } from '../support/wait';
import { envelope, modernHeaders, modernRpc, readEvents, type Rpc } from './modern-wire';
import { textOf, waitForTools } from './upstreams';

const TASKS = 'io.modelcontextprotocol/tasks';
const SUBSCRIPTION_ID = 'io.modelcontextprotocol/subscriptionId';
const FIXTURE = path.join(REPO, 'test/fixtures/servers/tasks-upstream.js');
/** A client that follows tasks and can be asked (elicitation). */
const ASKABLE = envelope({ elicitation: {}, extensions: { [TASKS]: {} } });
/**
 * How long a task's questions wait for an answer (mcp.client.default-timeout), short to test the bound; the server's
 * own call timeout is longer (60 s), so that it is the unanswered question that ends the call.
 */
const INPUT_TIMEOUT_MS = 8_000;

interface Message {
  method?: string;
  params?: Record<string, any>;
}

/**
 * MCP tasks that wait for the client's input (issue #13 item 5, ADR 0006): an upstream's elicitation during a task's
 * call makes the task `input_required` with the request in `tasks/get`, and `tasks/update` answers it — on the replica
 * running the job or on the other one (relayed over the session bus) — and `notifications/tasks` tell a
 * `subscriptions/listen` stream on either replica (item 6). Two in-process replicas on one database and the test
 * Redis, in front of test/fixtures/servers/tasks-upstream.js over stdio (its tools ask with elicitation/create).
 */
describe('MCP tasks waiting for input (2026-07-28)', () => {
  let db: TestDatabase;
  let a: TestGateway;
  let b: TestGateway;
  let alice: Record<string, string>;
  let bob: Record<string, string>;
  let reader: Record<string, string>;
  let nextId = 1;
  const hangUps: (() => void)[] = [];

  beforeAll(async () => {
    db = await createTestDatabase('mcp_task_input');
    const yaml =
      // A long synchronous window: the required tool's question must come within it even on a loaded machine.
      `mcp:\n  client:\n    default-timeout: ${INPUT_TIMEOUT_MS}\n  endpoint:\n    task-sync-window: 5s\n` +
      `  servers:\n    tasks:\n      type: stdio\n` +
      `      command: node\n      args: ["${FIXTURE}"]\n      pool-size: 4\n      timeout: 60s\n`;
    // Replicas of one database share the key of secrets at rest, which signs the input-required requestState.
    const env = { GLOBALMCP_ENCRYPTION_KEY: randomBytes(32).toString('base64') };
    [a, b] = await Promise.all([
      startTestGateway({ databaseUrl: db.url, yaml, env }),
      startTestGateway({ databaseUrl: db.url, yaml, env }),
    ]);
    await Promise.all([waitForTools(a.addresses.api, ['tasks']), waitForTools(b.addresses.api, ['tasks'])]);
    const key = async (name: string, scopes = ['mcp:read', 'mcp:write']) => {
      const res = await fetch(`${a.addresses.api}/api/api-keys`, {
        method: 'POST',
        headers: { ...ADMIN_HEADERS, 'content-type': 'application/json' },
        body: JSON.stringify({ name, scopes }),
      });
      return { 'X-API-Key': ((await res.json()) as { key: string }).key };
    };
    [alice, bob, reader] = [await key('input-alice'), await key('input-bob'), await key('input-reader', ['mcp:read'])];
  }, 60_000);

  afterEach(() => {
    for (const hangUp of hangUps.splice(0)) hangUp();
  });

  afterAll(async () => {
    await b?.stop();
    await a?.stop();
    await db?.drop();
  });

  /** One raw 2026-07-28 POST to /mcp/tasks of a replica. */
  const rpc = (
    method: string,
    params: Record<string, unknown>,
    options: { as?: Record<string, string>; at?: TestGateway; meta?: Record<string, unknown> } = {},
  ): Promise<Rpc> =>
    modernRpc(
      `${(options.at ?? a).addresses.api}/mcp/tasks`,
      options.as ?? alice,
      nextId++,
      method,
      params,
      options.meta ?? ASKABLE,
    );

  const record = async (id: string) =>
    (await (await fetch(`${a.addresses.api}/api/executions/${id}`, { headers: alice })).json()) as {
      status: string;
      channel: string;
      result: { content: { text?: string }[] } | null;
      error: { reason?: string } | null;
      input_rounds: number | null;
    };

  /** Polls tasks/get on a replica until `check` holds for the task; returns it. */
  async function until(
    taskId: string,
    check: (task: Record<string, any>) => boolean,
    what: string,
    at: TestGateway = a,
    as = alice,
  ): Promise<Record<string, any>> {
    let task: Record<string, any> = {};
    await waitFor(
      async () => check((task = (await rpc('tasks/get', { taskId }, { at, as })).result ?? {})),
      30_000,
      `task ${taskId}: ${what}`,
      100,
    );
    return task;
  }

  const waiting = (task: Record<string, any>) => task.status === 'input_required';
  const ended = (task: Record<string, any>) => ['completed', 'failed', 'cancelled'].includes(task.status);

  /** Starts `confirm_delete` as alice's (or another's) task and waits until it asks; returns its id and question key. */
  async function askingTask(filename: string, as = alice): Promise<{ taskId: string; key: string }> {
    const created = await rpc('tools/call', { name: 'confirm_delete', arguments: { filename } }, { as });
    expect(created.result).toEqual(expect.objectContaining({ resultType: 'task', status: 'working' }));
    const taskId = created.result!.taskId as string;
    const task = await until(taskId, waiting, 'input_required', a, as);
    const keys = Object.keys(task.inputRequests ?? {});
    expect(keys).toHaveLength(1);
    return { taskId, key: keys[0]! };
  }

  it('an upstream question makes the task input_required; tasks/update on the other replica answers it', async () => {
    const { taskId, key } = await askingTask('report.txt');
    const asked = await rpc('tasks/get', { taskId });
    expect(asked.result).toEqual(
      expect.objectContaining({
        resultType: 'complete',
        status: 'input_required',
        inputRequests: {
          [key]: {
            method: 'elicitation/create',
            params: expect.objectContaining({ message: 'Delete report.txt?' }),
          },
        },
      }),
    );
    expect(asked.result).not.toHaveProperty('requestState');
    // The other replica does not run the job: it shows what the running one announced (session bus).
    await until(taskId, (t) => waiting(t) && t.inputRequests?.[key] !== undefined, 'input_required on B', b);

    // Not the owner: the same answer as for an unknown task; read-only: 403; nothing answered either way.
    const accept = { [key]: { action: 'accept', content: { name: 'yes' } } };
    const byBob = await rpc('tasks/update', { taskId, inputResponses: accept }, { as: bob, at: b });
    expect(byBob.error).toEqual(expect.objectContaining({ code: -32602, message: expect.stringMatching(/not found/) }));
    expect((await rpc('tasks/update', { taskId, inputResponses: accept }, { as: reader })).status).toBe(403);
    // A response of the wrong shape is refused (relayed to the holder, which checks it); the question stays open.
    const malformed = await rpc('tasks/update', { taskId, inputResponses: { [key]: { action: 'maybe' } } }, { at: b });
    expect(malformed.error).toEqual(
      expect.objectContaining({ code: -32602, message: expect.stringContaining(`inputResponses.${key}`) }),
    );
    expect((await rpc('tasks/get', { taskId })).result?.status).toBe('input_required');

    // The answer, sent to the replica that does not run the job, with a key never asked (ignored, the extension's rule).
    const update = await rpc('tasks/update', { taskId, inputResponses: { ...accept, 'never-asked': {} } }, { at: b });
    expect(update.result).toEqual(expect.objectContaining({ resultType: 'complete' }));
    expect(update.result).not.toHaveProperty('status');
    const done = await until(taskId, ended, 'the end', b);
    expect(done.status).toBe('completed');
    // The upstream's result proves it got the answer (it deletes on `accept` only).
    expect(textOf(done.result)).toBe('Deleted report.txt');
    const rec = await record(taskId);
    // On record: the call waited for its client's input once.
    expect(rec).toEqual(expect.objectContaining({ status: 'completed', channel: 'mcp', input_rounds: 1 }));
    expect(rec.result?.content[0]?.text).toBe('Deleted report.txt');
  });

  it('two questions at once: a partial update leaves the other outstanding, then the task completes', async () => {
    const created = await rpc('tools/call', { name: 'multi_input', arguments: {} });
    const taskId = created.result!.taskId as string;
    const task = await until(taskId, (t) => Object.keys(t.inputRequests ?? {}).length === 2, 'two questions');
    const [first, second] = Object.keys(task.inputRequests as object);
    await rpc('tasks/update', { taskId, inputResponses: { [first!]: { action: 'accept', content: { name: 'ann' } } } });
    const partial = await rpc('tasks/get', { taskId });
    expect(partial.result?.status).toBe('input_required');
    expect(Object.keys(partial.result?.inputRequests ?? {})).toEqual([second]);
    await rpc(
      'tasks/update',
      { taskId, inputResponses: { [second!]: { action: 'accept', content: { name: 'bo' } } } },
      { at: b },
    );
    const done = await until(taskId, ended, 'the end');
    expect(textOf(done.result)).toBe('ann bo');
    // Two questions outstanding together, answered in two updates: one wait on record.
    expect((await record(taskId)).input_rounds).toBe(1);
  });

  it('a required tool asks with input-required rounds first, then answers the task (retry on the other replica)', async () => {
    const first = await rpc('tools/call', { name: 'test_tool_with_task', arguments: {} });
    expect(first.result).toEqual(expect.objectContaining({ resultType: 'input_required' }));
    expect(first.result).not.toHaveProperty('taskId');
    const [key] = Object.keys(first.result!.inputRequests as object);
    const retry = await rpc(
      'tools/call',
      {
        name: 'test_tool_with_task',
        arguments: {},
        inputResponses: { [key!]: { action: 'accept', content: { name: 'Alice' } } },
        requestState: first.result!.requestState,
      },
      { at: b },
    );
    expect(retry.error).toBeUndefined();
    expect(retry.result).toEqual(expect.objectContaining({ resultType: 'task' }));
    expect(retry.result).not.toHaveProperty('requestState');
    expect(retry.result).not.toHaveProperty('inputRequests');
    const done = await until(retry.result!.taskId as string, ended, 'the end', b);
    expect(textOf(done.result)).toBe('Hello, Alice');
    expect((await record(retry.result!.taskId as string)).input_rounds).toBe(1);
  });

  it('a client that declared no elicitation is not asked: the upstream is refused and the task goes on', async () => {
    const created = await rpc(
      'tools/call',
      { name: 'confirm_delete', arguments: { filename: 'x' } },
      { meta: envelope({ extensions: { [TASKS]: {} } }) },
    );
    const done = await until(created.result!.taskId as string, ended, 'the end');
    // The fixture's elicitation failed upstream: a JSON-RPC error of the tool, so the task failed; it never asked.
    expect(done.status).toBe('failed');
    expect(done.error?.message).toMatch(/no client to ask/);
    expect((await record(created.result!.taskId as string)).input_rounds).toBeNull();
  });

  it('a question nobody answers gives the task up: cancelled upstream, recorded cancelled (client gone)', async () => {
    const { taskId } = await askingTask('never.txt');
    // No tasks/update: after mcp.client.default-timeout without an answer the job is abandoned.
    const done = await until(taskId, ended, 'given up');
    expect(done.status).toBe('cancelled');
    const rec = await record(taskId);
    expect(rec.status).toBe('cancelled');
    expect(rec.error).toEqual(expect.objectContaining({ reason: 'client_gone' }));
    expect(rec.input_rounds).toBe(1);
  }, 40_000);

  /** A raw `subscriptions/listen` stream on a replica: its messages as they come. */
  async function listen(at: TestGateway, as: Record<string, string>, notifications: Record<string, unknown>) {
    const abort = new AbortController();
    hangUps.push(() => abort.abort());
    const id = `listen-${nextId++}`;
    const res = await fetch(`${at.addresses.api}/mcp/tasks`, {
      method: 'POST',
      headers: modernHeaders('subscriptions/listen', as),
      body: JSON.stringify({
        jsonrpc: '2.0',
        id,
        method: 'subscriptions/listen',
        params: { notifications, _meta: ASKABLE },
      }),
      signal: abort.signal,
    });
    const messages: Message[] = [];
    void readEvents(res, messages);
    await waitFor(() => messages.length > 0, 10_000, `acknowledgement of ${id}`, 20);
    return { id, messages, tasks: () => messages.filter((m) => m.method === 'notifications/tasks') };
  }

  it("notifications/tasks reach a listen stream on the other replica, for the caller's own tasks only", async () => {
    const mine = await askingTask('mine.txt');
    const theirs = await askingTask('theirs.txt', bob);
    const stream = await listen(b, alice, { taskIds: [mine.taskId, theirs.taskId] });
    // The acknowledgement names the task ids (both: whose they are is not disclosed) and nothing else.
    expect(stream.messages[0]).toEqual({
      jsonrpc: '2.0',
      method: 'notifications/subscriptions/acknowledged',
      params: { notifications: { taskIds: [mine.taskId, theirs.taskId] }, _meta: { [SUBSCRIPTION_ID]: stream.id } },
    });
    // Bob's task ends first: nothing of it reaches alice's stream.
    await rpc(
      'tasks/update',
      { taskId: theirs.taskId, inputResponses: { [theirs.key]: { action: 'decline' } } },
      { as: bob },
    );
    await until(theirs.taskId, ended, 'bob done', a, bob);
    await rpc('tasks/update', {
      taskId: mine.taskId,
      inputResponses: { [mine.key]: { action: 'accept', content: {} } },
    });
    await waitFor(() => stream.tasks().some((m) => m.params?.status === 'completed'), 20_000, 'completed on B');
    const told = stream.tasks();
    expect(told.every((m) => m.params?.taskId === mine.taskId)).toBe(true);
    // Its question may be announced after the stream opened (the bus is asynchronous): then it is told first.
    const statuses = told.map((m) => m.params?.status);
    expect(statuses.filter((s) => s !== 'input_required')).toEqual(['working', 'completed']);
    expect(told.at(-1)!.params).toEqual(
      expect.objectContaining({
        taskId: mine.taskId,
        status: 'completed',
        result: expect.objectContaining({ content: [{ type: 'text', text: 'Deleted mine.txt' }] }),
        _meta: { [SUBSCRIPTION_ID]: stream.id },
      }),
    );
    // Without the extension declared, a listen asking for task notifications is refused (-32021).
    const refused = await fetch(`${a.addresses.api}/mcp/tasks`, {
      method: 'POST',
      headers: modernHeaders('subscriptions/listen', alice),
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 'no-ext',
        method: 'subscriptions/listen',
        params: { notifications: { taskIds: [mine.taskId] }, _meta: envelope({}) },
      }),
    });
    expect(refused.status).toBe(400);
    expect(((await refused.json()) as Rpc).error).toEqual(
      expect.objectContaining({ code: -32021, data: { requiredCapabilities: { extensions: { [TASKS]: {} } } } }),
    );
  });
});
