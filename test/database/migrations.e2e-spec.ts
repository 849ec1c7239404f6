import { DataSource } from 'typeorm';
import { appConfigSchema } from 'src/config/config.schema';
import { buildDataSourceOptions } from 'src/database/database-options';
import { createEmptyDatabase, type TestDatabase } from '../support/test-database';

describe('migrations', () => {
  let db: TestDatabase;
  let dataSource: DataSource;

  beforeAll(async () => {
    db = await createEmptyDatabase('migrations');
    dataSource = new DataSource(buildDataSourceOptions(appConfigSchema.parse({}), db.url));
    await dataSource.initialize();
  });

  afterAll(async () => {
    if (dataSource?.isInitialized) await dataSource.destroy();
    await db?.drop();
  });

  const columns = () =>
    dataSource.query(
      `SELECT column_name, data_type, character_maximum_length, is_nullable, column_default
         FROM information_schema.columns WHERE table_schema = 'public' AND table_name = 'mcp_servers' ORDER BY ordinal_position`,
    ) as Promise<Array<Record<string, unknown>>>;
  const tableExists = async (name: string) =>
    ((await dataSource.query(`SELECT to_regclass($1) AS t`, [`public.${name}`])) as Array<{ t: string | null }>)[0]!
      .t !== null;

  async function revertAll(): Promise<number> {
    let reverted = 0;
    while (
      ((await dataSource.query('SELECT count(*)::int AS n FROM schema_migrations')) as Array<{ n: number }>)[0]!.n > 0
    ) {
      await dataSource.undoLastMigration({ transaction: 'each' });
      reverted++;
    }
    return reverted;
  }

  it('applies every migration to an empty database and creates mcp_servers as specified', async () => {
    const applied = await dataSource.runMigrations({ transaction: 'each' });
    expect(applied.map((m) => m.name)).toContain('InitialSchema1795766196973');
    expect(await dataSource.showMigrations()).toBe(false);

    expect(await columns()).toEqual([
      {
        column_name: 'id',
        data_type: 'character varying',
        character_maximum_length: 64,
        is_nullable: 'NO',
        column_default: null,
      },
      {
        column_name: 'name',
        data_type: 'character varying',
        character_maximum_length: 200,
        is_nullable: 'NO',
        column_default: null,
      },
      {
        column_name: 'description',
        data_type: 'text',
        character_maximum_length: null,
        is_nullable: 'YES',
        column_default: null,
      },
      {
        column_name: 'type',
        data_type: 'character varying',
        character_maximum_length: 16,
        is_nullable: 'NO',
        column_default: null,
      },
      {
        column_name: 'configuration',
        data_type: 'jsonb',
        character_maximum_length: null,
        is_nullable: 'NO',
        column_default: "'{}'::jsonb",
      },
      {
        column_name: 'secrets',
        data_type: 'bytea',
        character_maximum_length: null,
        is_nullable: 'YES',
        column_default: null,
      },
      {
        column_name: 'enabled',
        data_type: 'boolean',
        character_maximum_length: null,
        is_nullable: 'NO',
        column_default: 'true',
      },
      {
        column_name: 'created_at',
        data_type: 'timestamp with time zone',
        character_maximum_length: null,
        is_nullable: 'NO',
        column_default: 'now()',
      },
      {
        column_name: 'updated_at',
        data_type: 'timestamp with time zone',
        character_maximum_length: null,
        is_nullable: 'NO',
        column_default: 'now()',
      },
    ]);
    const indexes = (await dataSource.query(
      `SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'mcp_servers' ORDER BY indexname`,
    )) as Array<{
      indexname: string;
      indexdef: string;
    }>;
    expect(indexes.map((i) => i.indexname)).toEqual(['idx_mcp_servers_type', 'pk_mcp_servers']);
    expect(indexes[0]!.indexdef).toContain('(type)');
  });

  it('fills defaults and rejects a type other than stdio, http or sse', async () => {
    await dataSource.query(`INSERT INTO mcp_servers (id, name, type) VALUES ('fs', 'Files', 'stdio')`);
    const [row] = (await dataSource.query(
      `SELECT configuration, secrets, enabled, created_at FROM mcp_servers WHERE id = 'fs'`,
    )) as Array<Record<string, unknown>>;
    expect(row).toMatchObject({ configuration: {}, secrets: null, enabled: true });
    expect(row!.created_at).toBeInstanceOf(Date);
    await expect(
      dataSource.query(`INSERT INTO mcp_servers (id, name, type) VALUES ('x', 'X', 'websocket')`),
    ).rejects.toThrow(/chk_mcp_servers_type/);
    await dataSource.query(`DELETE FROM mcp_servers`);
  });

  it('reverts every migration down to an empty schema, then applies them again', async () => {
    expect(await revertAll()).toBeGreaterThanOrEqual(1);
    expect(await tableExists('mcp_servers')).toBe(false);
    expect(await dataSource.showMigrations()).toBe(true);

    const reapplied = await dataSource.runMigrations({ transaction: 'each' });
    expect(reapplied.length).toBeGreaterThanOrEqual(1);
    expect(await tableExists('mcp_servers')).toBe(true);
    expect(await dataSource.showMigrations()).toBe(false);
  });
});
