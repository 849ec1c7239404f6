import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { PgNotifications } from 'src/database/pg-notifications';
import { createTestDatabase, type TestDatabase } from '../support/test-database';
import { waitFor } from '../support/wait';

/** The process-wide LISTEN connection: several channels on one connection, and a lost connection comes back. */
describe('PgNotifications (real PostgreSQL)', () => {
  let db: TestDatabase;
  let dataSource: DataSource;
  let notifications: PgNotifications;

  beforeAll(async () => {
    db = await createTestDatabase('pg_notifications');
    dataSource = new DataSource({ type: 'postgres', url: db.url });
    await dataSource.initialize();
    notifications = new PgNotifications(dataSource);
  });

  afterAll(async () => {
    await notifications.onModuleDestroy();
    await dataSource.destroy();
    await db.drop();
  });

  const listenerBackends = async () =>
    (await dataSource.query(
      `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'globalmcp-listener'`,
    )) as { pid: number }[];

  it('delivers each channel to its own subscribers, over one connection', async () => {
    const first: string[] = [];
    const second: string[] = [];
    await notifications.subscribe('test_first', { onPayload: (p) => first.push(p) });
    await notifications.subscribe('test_second', { onPayload: (p) => second.push(p) });
    await notifications.notify('test_first', 'a');
    await notifications.notify('test_second', 'b');
    await notifications.notify('test_other', 'c');
    await waitFor(async () => first.length === 1 && second.length === 1, 5_000, 'both notifications');
    expect(first).toEqual(['a']);
    expect(second).toEqual(['b']);
    expect(await listenerBackends()).toHaveLength(1);
  });

  it('re-opens a lost connection, LISTENs again and tells subscribers they may have missed something', async () => {
    const payloads: string[] = [];
    let reconnected = 0;
    await notifications.subscribe('test_reconnect', {
      onPayload: (p) => payloads.push(p),
      onReconnected: () => reconnected++,
    });
    const [backend] = await listenerBackends();
    const admin = new Client({ connectionString: db.url });
    await admin.connect();
    try {
      await admin.query('SELECT pg_terminate_backend($1)', [backend!.pid]);
    } finally {
      await admin.end();
    }
    await waitFor(async () => reconnected === 1, 15_000, 'the listener to reconnect');
    const [again] = await listenerBackends();
    expect(again!.pid).not.toBe(backend!.pid);
    await notifications.notify('test_reconnect', 'after');
    await waitFor(async () => payloads.includes('after'), 5_000, 'a notification after the reconnect');
  });

  it('refuses a channel name that is not a plain identifier', async () => {
    await expect(notifications.subscribe('x; DROP TABLE y', { onPayload: () => undefined })).rejects.toThrow(
      'invalid notification channel name',
    );
  });
});
