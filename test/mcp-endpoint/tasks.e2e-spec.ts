import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { Client as ModernClient, StreamableHTTPClientTransport as ModernTransport } from '@modelcontextprotocol/client';
import { z } from 'zod';
import { ADMIN_HEADERS } from '../support/auth';
import { createTestDatabase, type TestDatabase } from '../support/test-database';
import { REPO } from '../support/paths';
import { startTestGateway, type TestGateway } from '../support/test-gateway';
import { waitFor } from '../support/wait';
import { envelope, modernRpc, REVISION, type Rpc } from './modern-wire';
import { EVERYTHING_AND_TOOLBOX_YAML, textOf, waitForTools } from './upstreams';

const TASKS = 'io.modelcontextprotocol/tasks';
const WITH_TASKS = envelope({ extensions: { [TASKS]: {} } });
const LONG = 'trigger-long-running-operation';
const TASKS_UPSTREAM = path.join(REPO, 'test/fixtures/servers/tasks-upstream.js');
/** server-everything and the toolbox, plus an upstream whose tools carry `execution.taskSupport` hints. */
const YAML = `${EVERYTHING_AND_TOOLBOX_YAML}    tasks:\n      type: stdio\n      command: node\n      args: ["${TASKS_UPSTREAM}"]\n`;

interface ExecutionRecord {
  execution_id: string;
  principal: string;
  channel: string;
  protocol_version: string | null;
  status: string;
  result: { content: { text?: string }[]; is_error: boolean } | null;
  error: { code: string; message: string; reason?: string } | null;
}

/**
 * The MCP Tasks extension (SEP-2663) served by the gateway's jobs (issue #13 item 5): a task over MCP 2026-07-28 is
 * a job of POST /api/…?mode=async and the reverse, both ways, in front of server-everything over stdio.
 */
describe('MCP Tasks = the gateway jobs (2026-07-28)', () => {
  let db: TestDatabase;
  let gateway: TestGateway;
  /** A second replica on the same database: jobs and their records are shared, the process memory is not. */
  let replica: TestGateway;
  let base: string;
  let alice: Record<string, string>;
  let bob: Record<string, string>;
  /** `mcp:read` only: may follow tasks, not cancel or answer them (as REST's cancel needs `mcp:write`). */
  let reader: Record<string, string>;
  let nextId = 1;

  beforeAll(async () => {
    db = await createTestDatabase('mcp_tasks');
    gateway = await startTestGateway({ databaseUrl: db.url, yaml: YAML });
    replica = await startTestGateway({ databaseUrl: db.url, yaml: EVERYTHING_AND_TOOLBOX_YAML });
    base = gateway.addresses.api;
    await Promise.all([
      waitForTools(base, ['everything', 'toolbox', 'tasks']),
      waitForTools(replica.addresses.api, ['everything']),
    ]);
    const key = async (name: string, scopes = ['mcp:read', 'mcp:write']) => {
      const res = await fetch(`${base}/api/api-keys`, {
        method: 'POST',
        headers: { ...ADMIN_HEADERS, 'content-type': 'application/json' },
        body: JSON.stringify({ name, scopes }),
      });
      return { 'X-API-Key': ((await res.json()) as { key: string }).key };
    };
    [alice, bob, reader] = [await key('tasks-alice'), await key('tasks-bob'), await key('tasks-reader', ['mcp:read'])];
  }, 60_000);

  afterAll(async () => {
    await replica?.stop();
    await gateway?.stop();
    await db?.drop();
  });

  /** One raw 2026-07-28 POST to /mcp/everything (or `server`), the standard headers taken from the body. */
  const rpc = (
    method: string,
    params: Record<string, unknown>,
    options: { as?: Record<string, string>; meta?: Record<string, unknown>; at?: string; server?: string } = {},
  ): Promise<Rpc> =>
    modernRpc(
      `${options.at ?? base}/mcp/${options.server ?? 'everything'}`,
      options.as ?? alice,
      nextId++,
      method,
      params,
      options.meta ?? WITH_TASKS,
    );

  const record = async (id: string, as = alice): Promise<ExecutionRecord> =>
    (await (await fetch(`${base}/api/executions/${id}`, { headers: as })).json()) as ExecutionRecord;

  /** Polls tasks/get (at a fraction of the suggested interval) until the task is in a terminal status. */
  async function settled(taskId: string, at = base, server?: string): Promise<Record<string, any>> {
    let task: Record<string, any> = {};
    await waitFor(
      async () => {
        task = (await rpc('tasks/get', { taskId }, { at, server })).result ?? {};
        return ['completed', 'failed', 'cancelled'].includes(task.status);
      },
      30_000,
      `task ${taskId} to end`,
      200,
    );
    return task;
  }

  it('declares the extension in server/discover', async () => {
    const discovered = await rpc('server/discover', {});
    expect(discovered.result?.capabilities?.extensions).toEqual(expect.objectContaining({ [TASKS]: {} }));
    expect(discovered.result?.capabilities?.tasks).toBeUndefined();
  });

  it('a task started over MCP is a job: followed over REST (record and events) to its result', async () => {
    const created = await rpc('tools/call', { name: LONG, arguments: { duration: 5, steps: 5 } });
    expect(created.result).toEqual(
      expect.objectContaining({ resultType: 'task', status: 'working', ttlMs: expect.any(Number) }),
    );
    const taskId = created.result!.taskId as string;
    expect(created.result).not.toHaveProperty('requestState');
    expect(created.result).not.toHaveProperty('content');
    // The same id on the REST side, running, on the mcp channel with the revision it came in with.
    const running = await record(taskId);
    expect(running).toEqual(
      expect.objectContaining({ execution_id: taskId, channel: 'mcp', protocol_version: REVISION, status: 'running' }),
    );
    // Progress reaches a task watcher as the extension has it: the working task's statusMessage.
    await waitFor(
      async () => /^Progress \d\/5/.test((await rpc('tasks/get', { taskId })).result?.statusMessage ?? ''),
      20_000,
      'a working task with its progress',
    );
    // The job's event stream (REST) ends with the result.
    const events = await (await fetch(`${base}/api/executions/${taskId}/events`, { headers: alice })).text();
    expect(events).toContain('event: progress');
    expect(events).toMatch(/event: result\ndata: .*Long running operation completed/);
    const done = await record(taskId);
    expect(done.status).toBe('completed');
    expect(done.result?.content[0]?.text).toMatch(/Long running operation completed/);
    // ... and tasks/get inlines that result.
    const task = await settled(taskId);
    expect(task).toEqual(expect.objectContaining({ resultType: 'complete', status: 'completed', taskId }));
    expect(textOf(task.result)).toBe(done.result?.content[0]?.text);
  });

  it('a job started over REST (mode=async) is followed, fetched and cancelled over MCP by the SDK 2 client', async () => {
    const startJob = async (duration: number) => {
      const res = await fetch(`${base}/api/servers/everything/tools/${LONG}?mode=async`, {
        method: 'POST',
        headers: { ...alice, 'content-type': 'application/json' },
        body: JSON.stringify({ duration, steps: duration }),
      });
      expect(res.status).toBe(202);
      return ((await res.json()) as { execution_id: string }).execution_id;
    };
    // The SDK 2 client declares the extension in every request's envelope and sets Mcp-Name to the taskId itself.
    const client = new ModernClient(
      { name: 'tasks-e2e', version: '1.0.0' },
      { versionNegotiation: { mode: { pin: REVISION } }, capabilities: { extensions: { [TASKS]: {} } } },
    );
    const TaskSchema = z.looseObject({ taskId: z.string(), status: z.string(), result: z.unknown().optional() });
    const Ack = z.looseObject({});
    try {
      await client.connect(new ModernTransport(new URL(`${base}/mcp/everything`), { requestInit: { headers: alice } }));
      const taskId = await startJob(2);
      const first = await client.request({ method: 'tasks/get', params: { taskId } }, TaskSchema);
      expect(first.taskId).toBe(taskId);
      expect(['working', 'completed']).toContain(first.status);
      let task = first;
      await waitFor(
        async () => {
          task = await client.request({ method: 'tasks/get', params: { taskId } }, TaskSchema);
          return task.status === 'completed';
        },
        30_000,
        'the REST job to complete, seen over MCP',
        200,
      );
      expect(textOf(task.result)).toMatch(/Long running operation completed. Duration: 2 seconds/);
      expect((await record(taskId)).channel).toBe('rest');

      const long = await startJob(60);
      await client.request({ method: 'tasks/cancel', params: { taskId: long } }, Ack);
      expect((await record(long)).status).toBe('cancelled');
      expect((await client.request({ method: 'tasks/get', params: { taskId: long } }, TaskSchema)).status).toBe(
        'cancelled',
      );
    } finally {
      await client.close();
    }
  });

  it('any replica answers: a task of one is followed and cancelled on the other (record, NOTIFY relay)', async () => {
    const other = replica.addresses.api;
    const quick = (await rpc('tools/call', { name: LONG, arguments: { duration: 3, steps: 3 } })).result!;
    expect(quick.resultType).toBe('task');
    const seen = await rpc('tasks/get', { taskId: quick.taskId }, { at: other });
    expect(seen.result).toEqual(expect.objectContaining({ taskId: quick.taskId }));
    expect(['working', 'completed']).toContain(seen.result?.status);
    const done = await settled(quick.taskId as string, other);
    expect(done.status).toBe('completed');
    expect(textOf(done.result)).toMatch(/Long running operation completed. Duration: 3 seconds/);

    const slow = (await rpc('tools/call', { name: LONG, arguments: { duration: 60, steps: 60 } })).result!;
    const ack = await rpc('tasks/cancel', { taskId: slow.taskId }, { at: other });
    expect(ack.result).toEqual(expect.objectContaining({ resultType: 'complete' }));
    // The ack comes once the record has ended, or after 5 s without the running replica's confirmation: wait for it.
    let rec = await record(slow.taskId as string);
    await waitFor(
      async () => (rec = await record(slow.taskId as string)).status !== 'running',
      15_000,
      'the relayed cancel on record',
    );
    expect(rec.status).toBe('cancelled');
    expect(rec.error).toEqual(expect.objectContaining({ reason: 'cancelled_by_caller' }));
    expect((await rpc('tasks/get', { taskId: slow.taskId }, { at: other })).result?.status).toBe('cancelled');
  });

  it('tasks/cancel cancels the job: the REST record says cancelled by the caller, tasks/get says cancelled', async () => {
    const created = await rpc('tools/call', { name: LONG, arguments: { duration: 60, steps: 60 } });
    const taskId = created.result!.taskId as string;
    const ack = await rpc('tasks/cancel', { taskId });
    expect(ack.result).toEqual(expect.objectContaining({ resultType: 'complete' }));
    const rec = await record(taskId);
    expect(rec.status).toBe('cancelled');
    expect(rec.error).toEqual(expect.objectContaining({ reason: 'cancelled_by_caller' }));
    expect((await rpc('tasks/get', { taskId })).result).toEqual(
      expect.objectContaining({ status: 'cancelled', statusMessage: 'Cancelled by the caller' }),
    );
    // A second cancel of the ended task: the same empty acknowledgement.
    expect((await rpc('tasks/cancel', { taskId })).result).toEqual({
      resultType: 'complete',
      _meta: expect.anything(),
    });
  });

  it('another principal can neither see nor cancel the task (-32602 as for an unknown id); its owner still can', async () => {
    const created = await rpc('tools/call', { name: LONG, arguments: { duration: 60, steps: 60 } });
    const taskId = created.result!.taskId as string;
    for (const method of ['tasks/get', 'tasks/cancel', 'tasks/update']) {
      const params = method === 'tasks/update' ? { taskId, inputResponses: {} } : { taskId };
      const refused = await rpc(method, params, { as: bob });
      expect(refused.error).toEqual(
        expect.objectContaining({ code: -32602, message: expect.stringMatching(/not found/) }),
      );
    }
    expect((await record(taskId)).status).toBe('running');
    const rest = await fetch(`${base}/api/executions/${taskId}`, { headers: bob });
    expect(rest.status).toBe(404);
    expect((await rpc('tasks/get', { taskId })).result?.status).toBe('working');
    await rpc('tasks/cancel', { taskId });
    expect((await record(taskId)).status).toBe('cancelled');
  });

  it('a fast call is answered directly or as a task, with the same result either way', async () => {
    const answer = await rpc('tools/call', { name: 'echo', arguments: { message: 'quick' } });
    const result = answer.result?.resultType === 'task' ? (await settled(answer.result.taskId)).result : answer.result;
    expect(textOf(result)).toBe('Echo: quick');
  });

  it('a tool hinting execution.taskSupport is a task at once, even quick and for a client that can be asked', async () => {
    const asking = envelope({ elicitation: {}, extensions: { [TASKS]: {} } });
    const quick = await rpc(
      'tools/call',
      { name: 'slow_compute', arguments: { seconds: 0, label: 'hinted' } },
      { server: 'tasks', meta: asking },
    );
    expect(quick.result).toEqual(expect.objectContaining({ resultType: 'task', status: 'working' }));
    const done = await settled(quick.result!.taskId as string, base, 'tasks');
    expect(textOf(done.result)).toBe('Computed hinted after 0 s');
    // A JSON-RPC error of the upstream: the task fails with it (a tool error would be `completed` with isError).
    const crash = await rpc('tools/call', { name: 'protocol_error_job', arguments: {} }, { server: 'tasks' });
    const failed = await settled(crash.result!.taskId as string, base, 'tasks');
    expect(failed).toEqual(
      expect.objectContaining({ status: 'failed', error: expect.objectContaining({ code: -32603 }) }),
    );
    expect(failed.error.message).toContain('The job crashed');
    // `required`: only as a task, so a client without the extension is refused (-32021, HTTP 400).
    const refused = await rpc(
      'tools/call',
      { name: 'failing_job', arguments: {} },
      { server: 'tasks', meta: envelope({}) },
    );
    expect(refused.status).toBe(400);
    expect(refused.error).toEqual(
      expect.objectContaining({ code: -32021, data: { requiredCapabilities: { extensions: { [TASKS]: {} } } } }),
    );
  });

  it('a client that does not declare the extension gets no task, and tasks/* refuse it with -32021', async () => {
    const plain = envelope({});
    const sync = await rpc('tools/call', { name: 'echo', arguments: { message: 'sync' } }, { meta: plain });
    expect(sync.result).toEqual(expect.objectContaining({ resultType: 'complete' }));
    expect(sync.result).not.toHaveProperty('taskId');
    for (const method of ['tasks/get', 'tasks/update', 'tasks/cancel']) {
      const refused = await rpc(method, { taskId: randomUUID(), inputResponses: {} }, { meta: plain });
      expect(refused.status).toBe(400);
      expect(refused.error?.code).toBe(-32021);
      expect(refused.error?.data).toEqual({ requiredCapabilities: { extensions: { [TASKS]: {} } } });
    }
  });

  it('bad input: unknown ids, malformed params, removed methods, each a clear JSON-RPC error; cancel needs mcp:write', async () => {
    for (const taskId of [randomUUID(), 'not-a-task-id']) {
      const unknown = await rpc('tasks/get', { taskId });
      expect(unknown.error).toEqual({ code: -32602, message: 'Failed to retrieve task: Task not found' });
      expect((await rpc('tasks/cancel', { taskId })).error?.code).toBe(-32602);
    }
    const malformed = await rpc('tasks/get', { taskId: 42 });
    expect(malformed.error?.code).toBe(-32602);
    expect(malformed.error?.message).toMatch(/taskId/);
    const noResponses = await rpc('tasks/update', { taskId: randomUUID() });
    expect(noResponses.error?.code).toBe(-32602);
    for (const method of ['tasks/result', 'tasks/list']) {
      expect((await rpc(method, {})).error?.code).toBe(-32601);
    }
    const readOnly = await rpc('tasks/get', { taskId: randomUUID() }, { as: reader });
    expect(readOnly.error?.code).toBe(-32602);
    for (const method of ['tasks/cancel', 'tasks/update']) {
      expect((await rpc(method, { taskId: randomUUID(), inputResponses: {} }, { as: reader })).status).toBe(403);
    }
  });
});
