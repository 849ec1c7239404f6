import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { WebhookOutbox } from 'src/webhooks/webhook-outbox';
import { ExecutionRecorder, type FinishedExecution, WRITERS } from './execution-recorder';
import type { ExecutionEntity } from './execution.entity';
import type { ExecutionsRepository } from './executions.repository';

/** A repository double that refuses rows the way PostgreSQL does: a too-long tool name is SQLSTATE 22001. */
function fakeRepository(options: { down?: () => boolean; gate?: () => Promise<void> } = {}) {
  const written: string[] = [];
  const repository = {
    upsertMany: jest.fn(async (rows: ExecutionEntity[], _alongside?: unknown, _synchronousCommit?: string) => {
      await options.gate?.();
      if (options.down?.()) throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
      if (rows.some((r) => r.toolName.length > 128)) {
        throw Object.assign(new Error('value too long for type character varying(128)'), {
          driverError: { code: '22001' },
        });
      }
      written.push(...rows.map((r) => r.id));
      return { recorded: rows.length, written: 0, synchronousCommit: 'off' };
    }),
  };
  return { repository: repository as unknown as ExecutionsRepository, written, calls: repository.upsertMany };
}

const outbox = {
  statementFor: jest.fn(() => ({ sql: 'SELECT 1', parameter: '[]' })),
  written: jest.fn(),
} as unknown as WebhookOutbox;

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
  let dataDir: string;
  const recorderOver = (repository: ExecutionsRepository, synchronousCommit = 'off') =>
    new ExecutionRecorder(repository, outbox, { mcp: { dataDir, executions: { synchronousCommit } } } as never);
  const spoolFile = () => path.join(dataDir, 'spool', 'executions.spool.jsonl');

  beforeEach(() => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'recorder-'));
  });
  afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

  it('answers a finish only once its record is written', async () => {
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const { repository, written } = fakeRepository({ gate: () => gate });
    const recorder = recorderOver(repository);
    let done = false;
    const finished = recorder.finish(execution('a')).then(() => (done = true));
    await new Promise((resolve) => setImmediate(resolve));
    expect(done).toBe(false);
    open();
    await finished;
    expect(written).toEqual(['a']);
  });

  it('writes with the configured synchronous_commit (mcp.executions.synchronous-commit)', async () => {
    for (const mode of ['off', 'on', 'database']) {
      const { repository, calls } = fakeRepository();
      await recorderOver(repository, mode).finish(execution(`mode-${mode}`));
      expect(calls.mock.calls[0]![2]).toBe(mode);
    }
  });

  it('group-commits: calls that finish while every writer is busy share the next write', async () => {
    let open!: () => void;
    let gate: Promise<void> | undefined = new Promise<void>((resolve) => (open = resolve));
    const { repository, written, calls } = fakeRepository({ gate: () => gate ?? Promise.resolve() });
    const recorder = recorderOver(repository);
    const busy = Array.from({ length: WRITERS }, (_, i) => recorder.finish(execution(`busy-${i}`)));
    await new Promise((resolve) => setImmediate(resolve));
    const rest = ['b', 'c', 'd', 'e'].map((id) => recorder.finish(execution(id)));
    gate = undefined;
    open();
    await Promise.all([...busy, ...rest]);
    expect(written).toHaveLength(WRITERS + 4);
    expect(calls).toHaveBeenCalledTimes(WRITERS + 1);
    expect((calls.mock.calls[WRITERS]![0] as ExecutionEntity[]).map((r) => r.id)).toEqual(['b', 'c', 'd', 'e']);
  });

  it('writes the others when the database refuses one record for its values, and drops only that one', async () => {
    const { repository, written } = fakeRepository();
    const recorder = recorderOver(repository);
    await Promise.all([
      recorder.finish(execution('a')),
      recorder.finish(execution('poison', 'x'.repeat(200))),
      recorder.finish(execution('b')),
    ]);
    expect(written).toEqual(['a', 'b']);
  });

  it('spools records durably while the database is down, answers the callers, and replays them once it is back', async () => {
    let down = true;
    const { repository, written } = fakeRepository({ down: () => down });
    const recorder = recorderOver(repository);
    await Promise.all([recorder.finish(execution('a')), recorder.finish(execution('b'))]);
    expect(written).toEqual([]);
    expect(existsSync(spoolFile())).toBe(true);
    // While the spool holds records, later ones join it (order kept) instead of overtaking them.
    down = false;
    await recorder.finish(execution('c'));
    expect(written).toEqual([]);
    await (recorder as unknown as { replaySpool(): Promise<void> }).replaySpool();
    expect(written).toEqual(['a', 'b', 'c']);
    expect(existsSync(spoolFile())).toBe(false);
    await recorder.finish(execution('d'));
    expect(written).toEqual(['a', 'b', 'c', 'd']);
    await recorder.onApplicationShutdown();
  });

  it('keeps the spool across a restart of the process: the next start writes it', async () => {
    const down = fakeRepository({ down: () => true });
    const crashed = recorderOver(down.repository);
    await crashed.finish(execution('a'));
    await crashed.onApplicationShutdown();
    const { repository, written } = fakeRepository();
    const next = recorderOver(repository);
    next.onApplicationBootstrap();
    await next.onApplicationShutdown();
    expect(written).toEqual(['a']);
    expect(existsSync(spoolFile())).toBe(false);
  });
});
