import { chmod, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Test, type TestingModule } from '@nestjs/testing';
import { getDataSourceToken } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { loadConfig } from 'src/config/config.loader';
import { ConfigModule } from 'src/config/config.module';
import { DatabaseModule, DatabaseStatus, EMBEDDED_POSTGRES } from 'src/database/database.module';
import type { EmbeddedPostgresService } from 'src/database/embedded-postgres.service';
import { createEmptyDatabase, type TestDatabase } from '../support/test-database';

async function boot(env: NodeJS.ProcessEnv, appRoot: string): Promise<TestingModule> {
  const loaded = loadConfig({ env, appRoot });
  const moduleRef = await Test.createTestingModule({ imports: [ConfigModule.forRoot(loaded), DatabaseModule] })
    .setLogger({ log() {}, warn() {}, error() {}, debug() {}, verbose() {} })
    .compile();
  await moduleRef.init();
  return moduleRef;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('DatabaseModule', () => {
  let tmp: string;

  beforeAll(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'globalmcp-dbmodule-'));
    await chmod(tmp, 0o755);
  });
  afterAll(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  describe('with a configured URL', () => {
    let db: TestDatabase;
    let app: TestingModule | undefined;
    beforeAll(async () => {
      db = await createEmptyDatabase('dbmodule');
    });
    afterAll(async () => {
      await app?.close();
      await db?.drop();
    });

    it('applies pending migrations at start and reports them done, with the password masked', async () => {
      app = await boot({ DATABASE_URL: db.url }, tmp);
      const status = app.get(DatabaseStatus).snapshot();
      expect(status).toMatchObject({
        embedded: false,
        migrationsPending: false,
        appliedAtStart: expect.arrayContaining(['InitialSchema1795766196973']),
      });
      expect(status.url).toContain(':****@');
      expect(status.url).not.toContain(new URL(db.url).password);
      expect(app.get(EMBEDDED_POSTGRES)).toBeNull();
      const dataSource = app.get<DataSource>(getDataSourceToken());
      expect(await dataSource.query(`SELECT to_regclass('public.mcp_servers') IS NOT NULL AS ok`)).toEqual([
        { ok: true },
      ]);
      await app.close();
      app = undefined;
      expect(dataSource.isInitialized).toBe(false);
    });

    it('reports pending migrations without applying them when migrate-on-start is false', async () => {
      const other = await createEmptyDatabase('dbmodule_nomigrate');
      try {
        app = await boot({ DATABASE_URL: other.url, MCP_DATABASE_MIGRATE_ON_START: 'false' }, tmp);
        expect(app.get(DatabaseStatus).snapshot()).toMatchObject({ migrationsPending: true, appliedAtStart: [] });
        await app.close();
        app = undefined;
      } finally {
        await other.drop();
      }
    });
  });

  describe('without a URL (embedded PostgreSQL)', () => {
    it('starts PostgreSQL under <data-dir>/postgres, and on close destroys the DataSource before stopping it', async () => {
      const dataDir = path.join(tmp, 'data');
      const app = await boot({ GLOBALMCP_DATA_DIR: dataDir }, tmp);
      let embeddedPid: number | undefined;
      try {
        const embedded = app.get<EmbeddedPostgresService>(EMBEDDED_POSTGRES);
        const dataSource = app.get<DataSource>(getDataSourceToken());
        expect(embedded.dataDirectory).toBe(path.join(dataDir, 'postgres'));
        embeddedPid = embedded.pid;
        expect(embeddedPid).toBeDefined();
        expect(app.get(DatabaseStatus).snapshot()).toMatchObject({ embedded: true, migrationsPending: false });
        expect(await dataSource.query('SELECT current_database() AS db')).toEqual([{ db: 'globalmcp' }]);

        const order: string[] = [];
        const destroy = dataSource.destroy.bind(dataSource);
        jest.spyOn(dataSource, 'destroy').mockImplementation(async () => {
          order.push('datasource.destroy');
          await destroy();
        });
        const stop = embedded.stop.bind(embedded);
        jest.spyOn(embedded, 'stop').mockImplementation(async () => {
          order.push(`embedded.stop (datasource open: ${dataSource.isInitialized})`);
          await stop();
        });

        await app.close();
        expect(order).toEqual(['datasource.destroy', 'embedded.stop (datasource open: false)']);
        expect(alive(embeddedPid!)).toBe(false);
      } finally {
        if (embeddedPid && alive(embeddedPid)) process.kill(embeddedPid, 'SIGKILL');
      }
    });
  });
});
