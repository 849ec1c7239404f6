import { randomBytes } from 'node:crypto';
import { McpEngine } from 'src/mcp/mcp-engine';
import { createTestDatabase, type TestDatabase } from '../support/test-database';
import { startTestGateway, type TestGateway } from '../support/test-gateway';
import { apiClient, eventually, everythingBody } from './registry-support';

// Replicas share the database and the encryption key; each has its own data dir and engine.
const yaml = `
mcp:
  client:
    default-timeout: 10000
  security:
    stdio:
      allowed-commands: [node]
  registry:
    reconcile-interval: 600000
`;

describe('replicas on one database agree on the servers registered through the API', () => {
  let db: TestDatabase;
  let a: TestGateway;
  let b: TestGateway;
  const apiA = apiClient(() => a.addresses.api);
  const apiB = apiClient(() => b.addresses.api);

  beforeAll(async () => {
    db = await createTestDatabase('replicas');
    const env = { GLOBALMCP_ENCRYPTION_KEY: randomBytes(32).toString('base64') };
    a = await startTestGateway({ databaseUrl: db.url, yaml, env });
    b = await startTestGateway({ databaseUrl: db.url, yaml, env });
  }, 60_000);

  afterAll(async () => {
    await a?.stop();
    await b?.stop();
    await db?.drop();
  });

  it('a server registered on A reaches B within 2 s and is callable there (LISTEN/NOTIFY, not the periodic reconcile)', async () => {
    const created = await apiA.post('/api/servers', everythingBody('shared', { TOKEN: 'replica-secret' }));
    expect(created.status).toBe(201);
    const registeredAt = Date.now();
    // Propagation is what the 2 s bound is about; spawning the server on B comes on top and varies with load.
    expect(await eventually(async () => (await apiB.get('/api/servers/shared')).status === 200, 2000)).toBe(true);
    expect(Date.now() - registeredAt).toBeLessThan(2500);
    const callable = await eventually(async () => {
      const res = await apiB.post('/api/servers/shared/tools/echo', { message: 'from B' });
      return res.status === 200 && JSON.stringify(res.body).includes('from B');
    }, 15_000);
    expect(callable).toBe(true);
    const onB = await apiB.get('/api/servers/shared');
    expect(onB.body).toMatchObject({ source: 'api', configuration: { environment: { TOKEN: '***' } } });
  }, 30_000);

  it('a change on A reaches B', async () => {
    expect((await apiA.put('/api/servers/shared', { name: 'Shared renamed' })).status).toBe(200);
    expect(
      await eventually(async () => (await apiB.get('/api/servers/shared')).body.name === 'Shared renamed', 2000),
    ).toBe(true);
  });

  it('a server deleted on A is gone on B, processes included', async () => {
    // The rename restarted the server on B as well: wait for its new process before deleting.
    expect(await eventually(async () => b.api.get(McpEngine).childPids('shared').length > 0, 10_000)).toBe(true);
    expect((await apiA.del('/api/servers/shared')).status).toBe(200);
    expect(await eventually(async () => (await apiB.get('/api/servers/shared')).status === 404, 2000)).toBe(true);
    expect(await eventually(async () => b.api.get(McpEngine).childPids('shared').length === 0, 5000)).toBe(true);
  });
});
