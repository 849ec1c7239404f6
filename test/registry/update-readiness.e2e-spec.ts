import { ADMIN_HEADERS } from '../support/auth';
import { TOOLBOX } from '../support/paths';
import { createTestDatabase, type TestDatabase } from '../support/test-database';
import { startTestGateway, type TestGateway } from '../support/test-gateway';
import { waitFor } from '../support/wait';

const NODE = process.execPath;
const YAML = `mcp:\n  security:\n    stdio:\n      allowed-commands: ["${NODE}"]\n`;

describe('servers registered through the API: PUT restarts only for connection fields; readiness and required', () => {
  let db: TestDatabase;
  let gateway: TestGateway;
  let api: string;

  const call = (method: string, path: string, body?: unknown) =>
    fetch(`${api}${path}`, {
      method,
      headers: body !== undefined ? { 'content-type': 'application/json', ...ADMIN_HEADERS } : ADMIN_HEADERS,
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
  const pidOf = async (server: string) => {
    const res = await call('POST', `/api/servers/${server}/tools/pid`, {});
    expect(res.status).toBe(200);
    const body = (await res.json()) as { result: { content: Array<{ text: string }> } };
    return Number(body.result.content[0]!.text);
  };
  const readiness = async () => {
    const res = await fetch(`${gateway.addresses.management}/actuator/health/readiness`, { headers: ADMIN_HEADERS });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  beforeAll(async () => {
    db = await createTestDatabase('registry-update');
    gateway = await startTestGateway({ databaseUrl: db.url, yaml: YAML });
    api = gateway.addresses.api;
  });

  afterAll(async () => {
    await gateway?.stop();
    await db?.drop();
  });

  it('keeps the connections for name, description and required; restarts them for the environment', async () => {
    const created = await call('POST', '/api/servers', {
      id: 'tb',
      type: 'stdio',
      configuration: { command: NODE, args: [TOOLBOX] },
    });
    expect(created.status).toBe(201);
    await waitFor(async () => (await call('POST', '/api/servers/tb/tools/pid', {})).ok, 20_000, 'tb');
    const first = await pidOf('tb');

    const renamed = await call('PUT', '/api/servers/tb', { name: 'Toolbox', description: 'renamed', required: true });
    expect(renamed.status).toBe(200);
    expect(await renamed.json()).toMatchObject({ id: 'tb', status: 'updated', restarted: false });
    expect(await pidOf('tb')).toBe(first);
    const details = (await (await call('GET', '/api/servers/tb')).json()) as {
      description: string;
      name: string;
      configuration: { required: boolean };
    };
    expect(details).toMatchObject({ name: 'Toolbox', description: 'renamed', configuration: { required: true } });

    const changed = await call('PUT', '/api/servers/tb', { configuration: { environment: { FLAVOUR: 'new' } } });
    expect(changed.status).toBe(200);
    expect(await changed.json()).toMatchObject({ restarted: true });
    await waitFor(async () => (await pidOf('tb')) !== first, 20_000, 'a new tb process');
    expect((await call('DELETE', '/api/servers/tb')).status).toBe(200);
  });

  it('is not ready while an API server marked required is down, and ready once it is not required', async () => {
    expect((await readiness()).status).toBe(200);
    // A stdio server whose process exits at once: never active.
    const created = await call('POST', '/api/servers', {
      id: 'needed',
      type: 'stdio',
      configuration: { command: NODE, args: ['-e', 'process.exit(3)'] },
      required: true,
    });
    expect(created.status).toBe(201);
    const down = await readiness();
    expect(down.status).toBe(503);
    expect(JSON.stringify(down.body)).toContain('needed');

    const optional = await call('PUT', '/api/servers/needed', { required: false });
    expect(optional.status).toBe(200);
    expect((await readiness()).status).toBe(200);

    expect((await call('PUT', '/api/servers/needed', { required: true })).status).toBe(200);
    expect((await readiness()).status).toBe(503);
    expect((await call('DELETE', '/api/servers/needed?force=true')).status).toBe(200);
    expect((await readiness()).status).toBe(200);
  });
});
