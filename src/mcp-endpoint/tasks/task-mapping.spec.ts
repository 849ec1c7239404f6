import type { ExecutionEntity } from 'src/executions/execution.entity';
import { Job } from 'src/jobs/job';
import { snapshotOfJob, snapshotOfRecord, toTask } from './task-mapping';

const timing = { ttlMs: 86_400_000, pollIntervalMs: 1_000 };
const started = new Date('2026-12-07T10:00:00.000Z');
const ended = new Date('2026-12-07T10:00:05.000Z');

function job(): Job {
  const j = new Job('6f1c2d3e-0000-4000-8000-000000000001', 'key-1', 'everything', 'long', started);
  j.push('status', { status: 'running' });
  return j;
}

function row(fields: Partial<ExecutionEntity>): ExecutionEntity {
  return {
    id: '6f1c2d3e-0000-4000-8000-000000000002',
    principal: 'key-1',
    startedAt: started,
    completedAt: null,
    result: null,
    error: null,
    ...fields,
  } as ExecutionEntity;
}

describe('task mapping (job states <-> task states)', () => {
  it('a running job whose upstream waits for answers is input_required with its inputRequests', () => {
    const inputRequests = { 'elicitation-1': { method: 'elicitation/create', params: { message: 'Sure?' } } };
    const task = toTask({ ...snapshotOfJob(job()), inputRequests }, timing);
    expect(task).toEqual(expect.objectContaining({ status: 'input_required', inputRequests, pollIntervalMs: 1_000 }));
    expect(task).not.toHaveProperty('result');
    // No questions left: working again.
    expect(toTask({ ...snapshotOfJob(job()), inputRequests: {} }, timing).status).toBe('working');
  });

  it('a running job is a working task: its id, times, TTL, poll interval, and its latest progress as statusMessage', () => {
    const j = job();
    expect(toTask(snapshotOfJob(j), timing)).toEqual({
      taskId: j.id,
      status: 'working',
      createdAt: started.toISOString(),
      lastUpdatedAt: j.updatedAt.toISOString(),
      ttlMs: 86_400_000,
      pollIntervalMs: 1_000,
    });
    j.push('progress', { progress: 1, total: 4 });
    j.push('progress', { progress: 2, total: 4, message: 'half way' });
    j.push('log', { level: 'info', data: 'not progress' });
    expect(toTask(snapshotOfJob(j), timing).statusMessage).toBe('Progress 2/4: half way');
    expect(toTask(snapshotOfJob(j), { ttlMs: null, pollIntervalMs: 500 })).toEqual(
      expect.objectContaining({ ttlMs: null, pollIntervalMs: 500 }),
    );
  });

  it('a completed job inlines the recorded result as an MCP CallToolResult, isError included', () => {
    const j = job();
    j.state = 'completed';
    j.push('result', {
      status: 'completed',
      result: { content: [{ type: 'text', text: 'no' }], structured_content: { ok: false }, is_error: true },
    });
    const task = toTask(snapshotOfJob(j), timing);
    expect(task).toEqual(
      expect.objectContaining({
        status: 'completed',
        result: { content: [{ type: 'text', text: 'no' }], structuredContent: { ok: false }, isError: true },
      }),
    );
    expect(task).not.toHaveProperty('pollIntervalMs');
    expect(task).not.toHaveProperty('error');
  });

  it("a failed job is a failed task with the JSON-RPC error a synchronous call gives (the upstream's own code kept)", () => {
    const j = job();
    j.state = 'failed';
    j.push('error', {
      status: 'failed',
      error: {
        code: 'TOOL_EXECUTION_FAILED',
        message: 'boom',
        details: { rpc_code: -32001, rpc_message: 'boom upstream' },
      },
    });
    expect(toTask(snapshotOfJob(j), timing)).toEqual(
      expect.objectContaining({
        status: 'failed',
        statusMessage: 'boom',
        error: { code: -32001, message: 'boom', data: expect.objectContaining({ code: 'TOOL_EXECUTION_FAILED' }) },
      }),
    );
    const invalid = snapshotOfRecord(
      row({ status: 'failed', error: { code: 'INVALID_PARAMETERS', message: 'a must be a number' } }),
    );
    expect(toTask(invalid, timing).error).toEqual(expect.objectContaining({ code: -32602 }));
  });

  it('cancelled is cancelled (with why); interrupted (gateway stopped) is failed with an internal error', () => {
    const j = job();
    j.state = 'cancelled';
    j.push('cancelled', { status: 'cancelled', message: 'Cancelled by the caller' });
    expect(toTask(snapshotOfJob(j), timing)).toEqual(
      expect.objectContaining({ status: 'cancelled', statusMessage: 'Cancelled by the caller' }),
    );
    const stopped = row({
      status: 'interrupted',
      completedAt: ended,
      error: { code: 'SERVER_UNAVAILABLE', message: 'The gateway stopped', reason: 'gateway_shutdown' },
    });
    expect(toTask(snapshotOfRecord(stopped), timing)).toEqual(
      expect.objectContaining({
        status: 'failed',
        lastUpdatedAt: ended.toISOString(),
        error: { code: -32603, message: 'The gateway stopped' },
      }),
    );
  });

  it('a record (another replica, or out of memory) maps the same way: running is working, without progress', () => {
    expect(toTask(snapshotOfRecord(row({ status: 'running' })), timing)).toEqual(
      expect.objectContaining({ status: 'working', lastUpdatedAt: started.toISOString(), pollIntervalMs: 1_000 }),
    );
    const done = row({
      status: 'completed',
      completedAt: ended,
      result: { content: [{ type: 'text', text: 'ok' }], is_error: false },
    });
    expect(toTask(snapshotOfRecord(done), timing)).toEqual(
      expect.objectContaining({ status: 'completed', result: { content: [{ type: 'text', text: 'ok' }] } }),
    );
    const cancelled = row({
      status: 'cancelled',
      completedAt: ended,
      error: { code: 'CANCELLED', message: 'Cancelled by the caller', reason: 'cancelled_by_caller' },
    });
    expect(toTask(snapshotOfRecord(cancelled), timing)).toEqual(
      expect.objectContaining({ status: 'cancelled', statusMessage: 'Cancelled by the caller' }),
    );
    expect(snapshotOfRecord(cancelled).owner).toBe('key-1');
  });
});
