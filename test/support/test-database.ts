import { randomBytes } from 'node:crypto';
import { Client } from 'pg';

/** A database of its own for one test file, cloned from the migrated template. */
export interface TestDatabase {
  /** postgres:// URL of the new database (superuser credentials of the test cluster). */
  url: string;
  name: string;
  /** Drops the database, disconnecting anyone still connected. */
  drop(): Promise<void>;
}

let counter = 0;

function requireEnv(name: string): string {
  const value = process.env[name];
  if (!value)
    throw new Error(`${name} is not set: run e2e tests through jest's e2e project (test/support/global-setup.ts)`);
  return value;
}

async function withAdmin<T>(work: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: requireEnv('TEST_PG_ADMIN_URL') });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

function uniqueName(prefix: string): string {
  const clean =
    prefix
      .toLowerCase()
      .replace(/[^a-z0-9_]/g, '_')
      .slice(0, 30) || 'test';
  return `t_${clean}_${process.pid}_${++counter}_${randomBytes(3).toString('hex')}`;
}

function urlFor(name: string): string {
  const url = new URL(requireEnv('TEST_PG_ADMIN_URL'));
  url.pathname = `/${name}`;
  return url.toString();
}

async function dropper(name: string): Promise<() => Promise<void>> {
  let dropped = false;
  return async () => {
    if (dropped) return;
    dropped = true;
    await withAdmin((client) => client.query(`DROP DATABASE IF EXISTS ${client.escapeIdentifier(name)} WITH (FORCE)`));
  };
}

/**
 * Creates a uniquely named database from the template `TEST_PG_TEMPLATE` (all migrations applied), so each test
 * file starts from the current schema without running migrations itself. Drop it in `afterAll`.
 */
export async function createTestDatabase(prefix: string): Promise<TestDatabase> {
  const template = requireEnv('TEST_PG_TEMPLATE');
  const name = uniqueName(prefix);
  await withAdmin(async (client) => {
    for (let attempt = 1; ; attempt++) {
      try {
        await client.query(
          `CREATE DATABASE ${client.escapeIdentifier(name)} TEMPLATE ${client.escapeIdentifier(template)}`,
        );
        return;
      } catch (error) {
        // Only if something is connected to the template: nothing should be, but do not fail a run over it.
        if (attempt >= 5 || !/being accessed by other users/.test((error as Error).message)) throw error;
        await new Promise((resolve) => setTimeout(resolve, 100 * attempt));
      }
    }
  });
  return { url: urlFor(name), name, drop: await dropper(name) };
}

/** Creates an empty database (no schema, no migrations): for tests of the migrations themselves. */
export async function createEmptyDatabase(prefix: string): Promise<TestDatabase> {
  const name = uniqueName(prefix);
  await withAdmin((client) => client.query(`CREATE DATABASE ${client.escapeIdentifier(name)}`));
  return { url: urlFor(name), name, drop: await dropper(name) };
}
