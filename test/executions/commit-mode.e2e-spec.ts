import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { SYNCHRONOUS_COMMIT_MODES } from 'src/config/config.schema';
import { ExecutionEntity } from 'src/executions/execution.entity';
import { ExecutionsRepository } from 'src/executions/executions.repository';
import { createTestDatabase, type TestDatabase } from '../support/test-database';

/**
 * The finished-record write sets `synchronous_commit` for its own transaction only (ADR 0008), on real PostgreSQL:
 * the statement commits with the configured mode, the rows are there, and the connection keeps its own setting.
 */
describe('ExecutionsRepository.upsertMany and synchronous_commit (real PostgreSQL)', () => {
  let db: TestDatabase;
  let dataSource: DataSource;
  let repository: ExecutionsRepository;

  beforeAll(async () => {
    db = await createTestDatabase('commit_mode');
    // One connection, so that the setting read afterwards is the one the write ran on.
    dataSource = new DataSource({ type: 'postgres', url: db.url, entities: [ExecutionEntity], extra: { max: 1 } });
    await dataSource.initialize();
    repository = new ExecutionsRepository(dataSource.getRepository(ExecutionEntity));
  });

  afterAll(async () => {
    await dataSource?.destroy();
    await db?.drop();
  });

  const finished = (): ExecutionEntity =>
    Object.assign(new ExecutionEntity(), {
      id: randomUUID(),
      principal: 'key:commit-mode',
      channel: 'rest',
      serverId: 'srv',
      toolName: 'echo',
      status: 'completed',
      parameters: { message: 'hello' },
      parametersTruncated: false,
      result: { content: [] },
      resultTruncated: false,
      startedAt: new Date(),
      completedAt: new Date(),
      durationMs: 1,
      error: null,
      idempotencyKey: null,
      requestHash: null,
      batchId: null,
      stepId: null,
      protocolVersion: null,
      owner: null,
    });

  it.each(SYNCHRONOUS_COMMIT_MODES.filter((m) => m !== 'database'))(
    'commits with synchronous_commit=%s, writes the rows, and leaves the session setting alone',
    async (mode) => {
      const [before] = await dataSource.query<[{ synchronous_commit: string }]>('SHOW synchronous_commit');
      const rows = [finished(), finished()];
      const outcome = await repository.upsertMany(rows, undefined, mode);
      expect(outcome).toEqual({ recorded: 2, written: 0, synchronousCommit: mode });
      const stored = await dataSource.query<{ id: string }[]>('SELECT id FROM executions WHERE id = ANY($1)', [
        rows.map((r) => r.id),
      ]);
      expect(stored).toHaveLength(2);
      const [after] = await dataSource.query<[{ synchronous_commit: string }]>('SHOW synchronous_commit');
      expect(after.synchronous_commit).toBe(before.synchronous_commit);
    },
  );

  it("leaves the database's own setting with `database`", async () => {
    const outcome = await repository.upsertMany([finished()], undefined, 'database');
    expect(outcome).toEqual({ recorded: 1, written: 0, synchronousCommit: null });
  });
});
