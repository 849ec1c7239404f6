import type { WebhookOutbox } from 'src/webhooks/webhook-outbox';
import { ExecutionRecorder, type FinishedExecution } from './execution-recorder';
import type { ExecutionEntity } from './execution.entity';
import type { ExecutionsRepository } from './executions.repository';

/** A repository double that refuses rows the way PostgreSQL does: a too-long tool name is SQLSTATE 22001. */
function fakeRepository(options: { down?: () => boolean } = {}) {
  const written: string[] = [];
  const repository = {
    upsertMany: jest.fn(async (rows: ExecutionEntity[], also?: (manager: unknown) => Promise<void>) => {
      if (options.down?.()) throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
      if (rows.some((r) => r.toolName.length > 128)) {
        throw Object.assign(new Error('value too long for type character varying(128)'), {
          driverError: { code: '22001' },
        });
      }
      await also?.({});
      written.push(...rows.map((r) => r.id));
    }),
  };
  return { repository: repository as unknown as ExecutionsRepository, written, calls: repository.upsertMany };
}

const outbox = { enqueue: jest.fn(async () => 0), written: jest.fn() } as unknown as WebhookOutbox;

const execution = (id: string, toolName = 'echo'): FinishedExecution => ({
  id,
  principal: 'test',
  channel: 'rest',
  serverId: 'srv',
  toolName,
  parameters: {},
  status: 'completed',
  startedAt: new Date(),
  completedAt: new Date(),
  durationMs: 1,
});

describe('ExecutionRecorder', () => {
  it('writes the others when the database refuses one record for its values, and drops only that one', async () => {
    const { repository, written } = fakeRepository();
    const recorder = new ExecutionRecorder(repository, outbox);
    recorder.record(execution('a'));
    recorder.record(execution('poison', 'x'.repeat(200)));
    recorder.record(execution('b'));
    await recorder.flush();
    expect(written).toEqual(['a', 'b']);
    await recorder.onApplicationShutdown();
  });

  it('keeps records for a retry while the database is down, and writes them once it is back', async () => {
    let down = true;
    const { repository, written } = fakeRepository({ down: () => down });
    const recorder = new ExecutionRecorder(repository, outbox);
    recorder.record(execution('a'));
    recorder.record(execution('b'));
    await recorder.flush();
    expect(written).toEqual([]);
    down = false;
    await recorder.flush();
    expect(written).toEqual(['a', 'b']);
    await recorder.onApplicationShutdown();
  });

  it('gives up at shutdown when the database stays down, without a timer left behind', async () => {
    const { repository, calls } = fakeRepository({ down: () => true });
    const recorder = new ExecutionRecorder(repository, outbox);
    recorder.record(execution('a'));
    await recorder.onApplicationShutdown();
    expect(calls).toHaveBeenCalledTimes(3);
    // Nothing scheduled: a further flush is the only way to write (jest would report an open timer otherwise).
    expect((recorder as unknown as { timer?: unknown }).timer).toBeUndefined();
  });
});
