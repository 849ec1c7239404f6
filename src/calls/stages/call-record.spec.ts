import { AppException } from 'src/common/errors/app.exception';
import { ErrorCode } from 'src/common/errors/error-code';
import type { ExecutionRecorder, FinishedExecution } from 'src/executions/execution-recorder';
import { EngineError, EngineErrorCode } from 'src/mcp/engine-error';
import { CallRecord, type CallOnRecord, outcomeOf } from './call-record';

const call: CallOnRecord = {
  id: 'e1',
  principal: 'key-1',
  request: {
    toolName: 'echo',
    serverId: 'everything',
    arguments: { message: 'hi' },
    channel: 'mcp',
    idempotencyKey: 'k1',
    batch: { batchId: 'b1', stepId: 's1' },
    protocolVersion: '2025-11-25',
  },
  serverId: 'everything',
  startedAt: new Date('2026-12-07T10:00:00Z'),
  requestHash: 'h1',
};

describe('CallRecord', () => {
  const finished: FinishedExecution[] = [];
  const recorder = {
    finish: jest.fn(async (e: FinishedExecution) => void finished.push(e)),
    begin: jest.fn(async () => true),
  };
  const record = new CallRecord(recorder as unknown as ExecutionRecorder);
  beforeEach(() => (finished.length = 0));

  it('records a completed call with its MCP result in the stored (REST) shape and every link of the call', async () => {
    const completedAt = new Date('2026-12-07T10:00:01Z');
    await record.completed(
      call,
      { content: [{ type: 'text', text: 'hi' }], structuredContent: { n: 1 } },
      completedAt,
      9,
    );
    expect(finished[0]).toEqual({
      id: 'e1',
      principal: 'key-1',
      channel: 'mcp',
      serverId: 'everything',
      toolName: 'echo',
      parameters: { message: 'hi' },
      startedAt: call.startedAt,
      idempotencyKey: 'k1',
      requestHash: 'h1',
      batchId: 'b1',
      stepId: 's1',
      protocolVersion: '2025-11-25',
      virtualServerId: null,
      status: 'completed',
      result: { content: [{ type: 'text', text: 'hi' }], structured_content: { n: 1 }, is_error: false },
      completedAt,
      durationMs: 9,
    });
  });

  it('records how many times a call waited for its client input, and nothing when it never did', async () => {
    await record.completed(call, { content: [] }, new Date(), 1, 2);
    await record.failed(call, new AppException(ErrorCode.SERVER_UNAVAILABLE, 'down'), 'client-gone', 3, 1);
    await record.completed(call, { content: [] }, new Date(), 1);
    expect(finished.map((e) => e.inputRounds)).toEqual([2, 1, undefined]);
  });

  it('writes the running row of a call with the same links', async () => {
    await record.begin(call);
    expect(recorder.begin).toHaveBeenCalledWith(
      expect.objectContaining({ id: 'e1', principal: 'key-1', idempotencyKey: 'k1', requestHash: 'h1', batchId: 'b1' }),
    );
  });

  it('records a failed call with the error code and message the caller got', async () => {
    await record.failed(call, new AppException(ErrorCode.SERVER_UNAVAILABLE, 'down'), undefined, 3);
    expect(finished[0]).toMatchObject({ status: 'failed', error: { code: 'SERVER_UNAVAILABLE', message: 'down' } });
  });
});

describe('outcomeOf', () => {
  const cancelled = new EngineError(EngineErrorCode.CANCELLED, "'tools/call' on 's' was cancelled by the caller");

  it('tells a caller cancel, a client gone and a gateway shutdown apart (status, message and reason)', () => {
    expect(outcomeOf(cancelled, 'cancelled-by-caller')).toEqual({
      status: 'cancelled',
      error: { code: 'TOOL_EXECUTION_FAILED', message: 'Cancelled by the caller', reason: 'cancelled_by_caller' },
    });
    expect(outcomeOf(cancelled, 'client-gone')).toMatchObject({
      status: 'cancelled',
      error: { reason: 'client_gone', message: 'Cancelled: the client went away' },
    });
    const stopped = outcomeOf(cancelled, 'gateway-shutdown');
    expect(stopped).toMatchObject({ status: 'interrupted', error: { reason: 'gateway_shutdown' } });
    expect(stopped.error.message).not.toMatch(/caller/);
  });

  it('names a timeout as such, and leaves other failures without a reason', () => {
    const timeout = new EngineError(EngineErrorCode.TIMEOUT, 'timed out after 10 ms');
    expect(outcomeOf(timeout, undefined)).toMatchObject({
      status: 'failed',
      error: { code: 'TIMEOUT_EXCEEDED', reason: 'timeout' },
    });
    expect(outcomeOf(new AppException(ErrorCode.TOOL_EXECUTION_FAILED, 'boom'), undefined).error).toEqual({
      code: 'TOOL_EXECUTION_FAILED',
      message: 'boom',
    });
  });
});
