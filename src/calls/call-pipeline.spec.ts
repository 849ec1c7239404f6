import { AppException } from 'src/common/errors/app.exception';
import { ErrorCode } from 'src/common/errors/error-code';
import type { CallRequest } from './call.types';
import { CallPipeline } from './call-pipeline';
import type { ArgumentValidator } from './stages/argument-validator';
import type { CallPolicy } from './stages/call-policy';
import type { CallRecord } from './stages/call-record';
import type { Idempotency } from './stages/idempotency';
import type { ToolResolver } from './stages/tool-resolver';
import type { UpstreamCall } from './stages/upstream-call';
import type { UpstreamCredential } from './stages/upstream-credential';

const target = { serverId: 'everything', tool: { name: 'echo', inputSchema: { type: 'object' as const } } };
const request: CallRequest = { toolName: 'echo', arguments: { message: 'hi' }, channel: 'rest' };
const result = { content: [{ type: 'text' as const, text: 'Echo: hi' }] };

/** The pipeline over stage doubles that log the order they run in. */
function pipeline(overrides: { validate?: () => void; claimFirst?: boolean; upstream?: () => Promise<unknown> } = {}) {
  const log: string[] = [];
  const stages = {
    resolver: { resolve: jest.fn(() => (log.push('resolve'), target)) },
    policy: { check: jest.fn(() => void log.push('policy')) },
    validator: { check: jest.fn(() => (log.push('validate'), overrides.validate?.())) },
    idempotency: {
      hashOf: jest.fn((r: CallRequest) => (r.idempotencyKey ? 'hash' : null)),
      claim: jest.fn(async () => {
        log.push('claim');
        return overrides.claimFirst === false
          ? { first: false, row: { id: 'first', status: 'completed' } }
          : { first: true };
      }),
      replay: jest.fn(async () => (log.push('replay'), { executionId: 'first', result })),
    },
    upstream: { run: jest.fn(async () => (log.push('upstream'), overrides.upstream ? overrides.upstream() : result)) },
    record: {
      begin: jest.fn(async () => (log.push('begin'), true)),
      completed: jest.fn(async () => void log.push('record completed')),
      failed: jest.fn(async () => void log.push('record failed')),
    },
  };
  const calls = new CallPipeline(
    stages.resolver as unknown as ToolResolver,
    stages.policy as unknown as CallPolicy,
    { resolve: jest.fn(async () => undefined) } as unknown as UpstreamCredential,
    stages.validator as unknown as ArgumentValidator,
    stages.idempotency as unknown as Idempotency,
    stages.upstream as unknown as UpstreamCall,
    stages.record as unknown as CallRecord,
  );
  return { calls, log, stages };
}

const invalid = () => {
  throw AppException.invalid('bad arguments');
};

describe('CallPipeline', () => {
  it('runs the stages in order and answers only once the outcome is on record', async () => {
    const { calls, log } = pipeline();
    const outcome = await calls.call(request);
    expect(log).toEqual(['resolve', 'policy', 'validate', 'upstream', 'record completed']);
    expect(outcome).toMatchObject({ serverId: 'everything', toolName: 'echo', result });
    expect(outcome.executionId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('records nothing for a call refused by resolution or policy', async () => {
    const { calls, log, stages } = pipeline();
    stages.policy.check.mockImplementation(() => {
      throw new AppException(ErrorCode.AUTHORIZATION_DENIED, 'no');
    });
    await expect(calls.call(request)).rejects.toMatchObject({ code: 'AUTHORIZATION_DENIED' });
    expect(log).toEqual(['resolve']);
  });

  it('records a plain call refused by validation as failed, as an upstream failure is', async () => {
    const { calls, log, stages } = pipeline({ validate: invalid });
    await expect(calls.call(request)).rejects.toMatchObject({ code: 'INVALID_PARAMETERS' });
    expect(log).toEqual(['resolve', 'policy', 'validate', 'record failed']);
    expect(stages.upstream.run).not.toHaveBeenCalled();
  });

  it('refuses a keyed call with bad arguments before writing anything, and answers a repeat from the first call', async () => {
    const refused = pipeline({ validate: invalid });
    await expect(refused.calls.call({ ...request, idempotencyKey: 'k' })).rejects.toMatchObject({
      code: 'INVALID_PARAMETERS',
    });
    expect(refused.log).toEqual(['resolve', 'policy', 'validate']);

    const repeat = pipeline({ claimFirst: false });
    expect(await repeat.calls.call({ ...request, idempotencyKey: 'k' })).toMatchObject({ executionId: 'first' });
    expect(repeat.log).toEqual(['resolve', 'policy', 'validate', 'claim', 'replay']);
  });

  it('puts a batch step on record as running before it runs', async () => {
    const { calls, log } = pipeline();
    await calls.call({ ...request, batch: { batchId: 'b', stepId: 's' } });
    expect(log).toEqual(['resolve', 'policy', 'begin', 'validate', 'upstream', 'record completed']);
  });

  it('prepares a job: checked and on record before it runs; its run records the outcome with the end reason', async () => {
    const { calls, log, stages } = pipeline({ upstream: () => Promise.reject(new Error('aborted')) });
    const prepared = await calls.prepare(request);
    expect(log).toEqual(['resolve', 'policy', 'validate', 'claim']);
    await expect(prepared.run!({ endReason: () => 'gateway-shutdown' })).rejects.toThrow('aborted');
    expect(log.slice(4)).toEqual(['upstream', 'record failed']);
    expect(stages.record.failed).toHaveBeenCalledWith(
      expect.objectContaining({ id: prepared.executionId }),
      expect.any(Error),
      'gateway-shutdown',
      expect.any(Number),
      0,
    );
  });

  it('records how many times the call waited for its client input, when its origin counts them', async () => {
    const { calls, stages } = pipeline({});
    const prepared = await calls.prepare(request);
    const origin = { group: 'g', answers: true, request: jest.fn(), inputRounds: () => 2 };
    await prepared.run!({ origin });
    expect(stages.record.completed).toHaveBeenCalledWith(
      expect.objectContaining({ id: prepared.executionId }),
      expect.anything(),
      expect.any(Date),
      expect.any(Number),
      2,
    );
  });

  it('prepares a repeat of a keyed job as the first call, with nothing to run', async () => {
    const { calls } = pipeline({ claimFirst: false });
    const prepared = await calls.prepare({ ...request, idempotencyKey: 'k' });
    expect(prepared).toMatchObject({ executionId: 'first', repeatOf: 'completed' });
    expect(prepared.run).toBeUndefined();
  });
});
