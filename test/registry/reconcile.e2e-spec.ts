import { Client } from 'pg';
import { McpEngine } from 'src/mcp/mcp-engine';
import { createTestDatabase, type TestDatabase } from '../support/test-database';
import { startTestGateway, type TestGateway } from '../support/test-gateway';
import { apiClient, eventually, everythingBody } from './registry-support';

// The periodic full reconcile catches changes no NOTIFY announced (a missed notice, a manual fix in the table).
const yaml = `
mcp:
  client:
    default-timeout: 10000
  security:
    stdio:
      allowed-commands: [node]
  registry:
    reconcile-interval: 300
`;

describe('periodic full reconcile of the registry', () => {
  let db: TestDatabase;
  let gateway: TestGateway;
  const api = apiClient(() => gateway.addresses.api);

  const sql = async (text: string, params: unknown[]) => {
    const client = new Client({ connectionString: db.url });
    await client.connect();
    try {
      await client.query(text, params);
    } finally {
      await client.end();
    }
  };

  beforeAll(async () => {
    db = await createTestDatabase('reconcile');
    gateway = await startTestGateway({ databaseUrl: db.url, yaml });
  }, 60_000);

  afterAll(async () => {
    await gateway?.stop();
    await db?.drop();
  });

  it('applies rows changed and deleted without a notice', async () => {
    expect((await api.post('/api/servers', everythingBody('quiet'))).status).toBe(201);
    await sql(`UPDATE mcp_servers SET name = $2, updated_at = now() WHERE id = $1`, ['quiet', 'Changed quietly']);
    expect(
      await eventually(async () => (await api.get('/api/servers/quiet')).body.name === 'Changed quietly', 3000),
    ).toBe(true);
    await sql(`DELETE FROM mcp_servers WHERE id = $1`, ['quiet']);
    expect(await eventually(async () => (await api.get('/api/servers/quiet')).status === 404, 3000)).toBe(true);
    expect(await eventually(async () => gateway.api.get(McpEngine).childPids('quiet').length === 0, 5000)).toBe(true);
  });
});
