import type { ExecutionEntity } from 'src/executions/execution.entity';
import type { ExecutionRecorder } from 'src/executions/execution-recorder';
import type { CallRequest } from '../call.types';
import type { CallOnRecord, CallRecord } from './call-record';
import { Idempotency } from './idempotency';

const request: CallRequest = {
  toolName: 'echo',
  serverId: 'everything',
  arguments: { message: 'hi' },
  channel: 'rest',
  idempotencyKey: 'k1',
  timeoutMs: 500,
};

function idempotencyWith(rows: () => ExecutionEntity | null, inserted = false) {
  const recorder = { findByKey: jest.fn(async () => rows()) };
  const record = { begin: jest.fn(async () => inserted) };
  const idempotency = new Idempotency(
    recorder as unknown as ExecutionRecorder,
    record as unknown as CallRecord,
    { mcp: { client: { defaultTimeout: 1000 } } } as never,
  );
  return { idempotency, recorder, record };
}

const row = (overrides: Partial<ExecutionEntity>): ExecutionEntity =>
  ({
    id: 'first',
    serverId: 'everything',
    toolName: 'echo',
    startedAt: new Date('2026-12-07T10:00:00Z'),
    completedAt: new Date('2026-12-07T10:00:01Z'),
    durationMs: 7,
    status: 'completed',
    result: { content: [{ type: 'text', text: 'Echo: hi' }], is_error: false },
    error: null,
    ...overrides,
  }) as ExecutionEntity;

describe('Idempotency', () => {
  it('hashes the tool, the server as named and the arguments; a call without a key has no hash', () => {
    const { idempotency } = idempotencyWith(() => null);
    const hash = idempotency.hashOf(request);
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
    expect(idempotency.hashOf({ ...request, arguments: { message: 'other' } })).not.toBe(hash);
    expect(idempotency.hashOf({ ...request, idempotencyKey: undefined })).toBeNull();
  });

  it('claims a new key by writing its running row, and gives the first row of a key used before', async () => {
    const hash = idempotencyWith(() => null).idempotency.hashOf(request)!;
    const call = { principal: 'key-1', request, requestHash: hash } as CallOnRecord;
    expect(await idempotencyWith(() => null, true).idempotency.claim(call)).toEqual({ first: true });
    const first = row({ requestHash: hash });
    expect(await idempotencyWith(() => first).idempotency.claim(call)).toEqual({ first: false, row: first });
  });

  it('refuses a key used before with other arguments: 409 naming the first execution', async () => {
    const call = { principal: 'key-1', request, requestHash: 'mine' } as CallOnRecord;
    await expect(idempotencyWith(() => row({ requestHash: 'theirs' })).idempotency.claim(call)).rejects.toMatchObject({
      code: 'CONFLICT',
      details: { idempotency_key: 'k1', execution_id: 'first' },
    });
  });

  it("replays the first call's MCP result, waiting while it runs", async () => {
    let status: ExecutionEntity['status'] = 'running';
    const { idempotency, recorder } = idempotencyWith(() => row({ requestHash: 'h', status }));
    setTimeout(() => (status = 'completed'), 120);
    const outcome = await idempotency.replay('key-1', request, 'h');
    expect(outcome).toMatchObject({ executionId: 'first', result: { content: [{ type: 'text', text: 'Echo: hi' }] } });
    expect(outcome.result.isError).toBeUndefined();
    expect(recorder.findByKey.mock.calls.length).toBeGreaterThan(1);
  });

  it('answers a repeat of a failed first call with its error, and of an interrupted one with 409', async () => {
    const failed = row({ requestHash: 'h', status: 'failed', error: { code: 'SERVER_UNAVAILABLE', message: 'down' } });
    await expect(idempotencyWith(() => failed).idempotency.replay('key-1', request, 'h')).rejects.toMatchObject({
      code: 'SERVER_UNAVAILABLE',
    });
    const interrupted = row({ requestHash: 'h', status: 'interrupted' });
    await expect(idempotencyWith(() => interrupted).idempotency.replay('key-1', request, 'h')).rejects.toMatchObject({
      code: 'CONFLICT',
    });
  });

  it('gives up waiting once the call would have timed out', async () => {
    const running = row({ requestHash: 'h', status: 'running' });
    await expect(
      idempotencyWith(() => running).idempotency.replay('key-1', { ...request, timeoutMs: 1 }, 'h'),
    ).rejects.toMatchObject({ code: 'TIMEOUT_EXCEEDED' });
  });
});
