import { EventEmitter } from 'node:events';
import type { Readable } from 'node:stream';
import type { Principal } from 'src/auth/principal';
import { AppException } from 'src/common/errors/app.exception';
import type { ExecutionEntity } from 'src/executions/execution.entity';
import type { CallHooks, CallOutcome, PreparedCall } from 'src/calls/call.types';
import type { ExecutionsService } from 'src/executions/executions.service';
import type { McpEngine } from 'src/mcp/mcp-engine';
import { JobsService } from './jobs.service';

const owner: Principal = {
  kind: 'api-key',
  id: 'key-1',
  subject: 'k',
  scopes: new Set(['mcp:write']),
  servers: null,
  tier: null,
};
const stranger: Principal = { ...owner, id: 'key-2' };

type Hooks = CallHooks;

/** A prepared call the test finishes by hand; `hooks` are what the job gave it. */
function controllable(id: string) {
  let resolve!: (value: CallOutcome) => void;
  let reject!: (error: unknown) => void;
  let hooks!: Hooks;
  const prepared: PreparedCall = {
    executionId: id,
    serverId: 's',
    toolName: 't',
    startedAt: new Date('2026-01-01T00:00:00Z'),
    run: (h) => {
      hooks = h;
      h.signal?.addEventListener('abort', () => reject(new Error('aborted')));
      return new Promise((res, rej) => {
        resolve = res;
        reject = rej;
      });
    },
  };
  return { prepared, hooks: () => hooks, resolve: (v: CallOutcome) => resolve(v) };
}

const result = (id: string): CallOutcome => ({
  executionId: id,
  result: { content: [{ type: 'text', text: 'ok' }] },
  serverId: 's',
  toolName: 't',
  startedAt: new Date('2026-01-01T00:00:00.000Z'),
  completedAt: new Date('2026-01-01T00:00:01.000Z'),
  durationMs: 1000,
});

async function readAll(stream: Readable): Promise<{ id: string; event: string; data: any }[]> {
  let text = '';
  for await (const chunk of stream) text += String(chunk);
  return text
    .split('\n\n')
    .filter((block) => block.startsWith('id:'))
    .map((block) => {
      const [id, event, data] = block.split('\n').map((line) => line.slice(line.indexOf(':') + 1).trim());
      return { id: id!, event: event!, data: JSON.parse(data!) };
    });
}

describe('JobsService', () => {
  let engine: EventEmitter;
  let rows: Map<string, ExecutionEntity>;
  let jobs: JobsService;

  beforeEach(() => {
    engine = new EventEmitter();
    rows = new Map();
    const executions = { findRecord: (id: string) => Promise.resolve(rows.get(id) ?? null) };
    jobs = new JobsService(
      engine as unknown as McpEngine,
      executions as unknown as ExecutionsService,
      { httpAdapter: undefined } as never,
    );
    jobs.onModuleInit();
  });

  afterEach(() => jobs.onModuleDestroy());

  it('streams status, progress, the log messages of its server and the result, then ends; resumes after an id', async () => {
    const call = controllable('j1');
    jobs.start(call.prepared, owner);
    call.hooks().onProgress!({ progress: 1, total: 2, message: 'half' });
    engine.emit('server.notification', {
      serverId: 's',
      notification: { method: 'notifications/message', params: { level: 'info', data: 'hi' } },
    });
    engine.emit('server.notification', {
      serverId: 'other',
      notification: { method: 'notifications/message', params: { level: 'info', data: 'not ours' } },
    });
    const live = jobs.stream('j1', owner);
    call.resolve(result('j1'));
    const events = await readAll(await live);
    expect(events.map((e) => `${e.id} ${e.event}`)).toEqual(['1 status', '2 progress', '3 log', '4 result']);
    expect(events[1]!.data).toEqual({ execution_id: 'j1', progress: 1, total: 2, message: 'half' });
    expect(events[2]!.data).toEqual({ execution_id: 'j1', level: 'info', data: 'hi' });
    expect(events[3]!.data).toMatchObject({ status: 'completed', result: { is_error: false } });

    const resumed = await readAll(await jobs.stream('j1', owner, 2));
    expect(resumed.map((e) => e.event)).toEqual(['log', 'result']);
  });

  it('cancels: aborts the call, ends cancelled, refuses a second cancel and other callers', async () => {
    const call = controllable('j2');
    jobs.start(call.prepared, owner);
    await expect(jobs.cancel('j2', stranger)).rejects.toMatchObject({ code: 'RESOURCE_NOT_FOUND' });
    await jobs.cancel('j2', owner);
    expect(jobs.find('j2', owner)!.state).toBe('cancelled');
    expect(call.hooks().signal!.aborted).toBe(true);
    expect(call.hooks().endReason!()).toBe('cancelled-by-caller');
    const events = await readAll(await jobs.stream('j2', owner));
    expect(events.at(-1)).toMatchObject({ event: 'cancelled', data: { status: 'cancelled' } });
    await expect(jobs.cancel('j2', owner)).rejects.toMatchObject({ code: 'CONFLICT' });
  });

  it('interrupts running jobs when the gateway stops, and refuses new ones', async () => {
    const call = controllable('j3');
    const job = jobs.start(call.prepared, owner);
    await jobs.beforeApplicationShutdown();
    expect(job.state).toBe('interrupted');
    expect(call.hooks().endReason!()).toBe('gateway-shutdown');
    expect(() => jobs.start(controllable('j4').prepared, owner)).toThrow(AppException);
  });

  it('answers a job no longer in memory from its record; without a database to relay through, 409 for another instance', async () => {
    rows.set('r1', {
      id: 'r1',
      principal: 'key-1',
      status: 'failed',
      error: { code: 'TOOL_EXECUTION_FAILED', message: 'boom' },
    } as ExecutionEntity);
    rows.set('r2', { id: 'r2', principal: 'key-1', status: 'running' } as ExecutionEntity);
    expect(await readAll(await jobs.stream('r1', owner))).toEqual([
      { id: '0', event: 'error', data: { execution_id: 'r1', status: 'failed', error: expect.any(Object) } },
    ]);
    await expect(jobs.stream('r1', stranger)).rejects.toMatchObject({ code: 'RESOURCE_NOT_FOUND' });
    await expect(jobs.cancel('r2', owner)).rejects.toMatchObject({ code: 'CONFLICT' });
    await expect(jobs.stream('nope', owner)).rejects.toMatchObject({ code: 'RESOURCE_NOT_FOUND' });
  });
});
