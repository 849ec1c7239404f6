import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { McpEngine } from 'src/mcp/mcp-engine';
import { ADMIN_HEADERS } from '../support/auth';
import { isAlive } from '../support/processes';
import { createTestDatabase, type TestDatabase } from '../support/test-database';
import { startTestGateway, type TestGateway } from '../support/test-gateway';
import { apiClient, eventually, EVERYTHING, everythingBody, rawRows, RECORDER, sleep } from './registry-support';

const ENV_SECRET = 'env-s3cr3t-never-in-clear-7f3a';
const HEADER_SECRET = 'Bearer header-s3cr3t-never-in-clear-91bd';

const yaml = `
mcp:
  client:
    default-timeout: 10000
  security:
    stdio:
      allowed-commands: [node]
  servers:
    from-config:
      type: stdio
      command: node
      args: ["${EVERYTHING}", stdio]
`;

describe('servers registered through the API (PostgreSQL, real MCP servers)', () => {
  let db: TestDatabase;
  let gateway: TestGateway;
  const api = apiClient(() => gateway.addresses.api);
  const engine = () => gateway.api.get(McpEngine);

  beforeAll(async () => {
    db = await createTestDatabase('registry');
    gateway = await startTestGateway({ databaseUrl: db.url, yaml });
  }, 60_000);

  afterAll(async () => {
    await gateway?.stop();
    await db?.drop();
  });

  describe('validation', () => {
    const base = everythingBody('valid-id');
    it.each([
      ['an id with a bad character', { ...base, id: 'bad id!' }],
      ['an id too long', { ...base, id: 'a'.repeat(65) }],
      ['an unknown type', { ...base, type: 'ftp' }],
      ['a missing configuration', { ...base, configuration: undefined }],
      ['an ftp url', { ...base, type: 'http', configuration: { url: 'ftp://example.com/mcp' } }],
      ['an http server without url', { ...base, type: 'http', configuration: {} }],
      ['a stdio server without command', { ...base, configuration: { args: ['x'] } }],
      ['too many args', { ...base, configuration: { command: 'node', args: Array(101).fill('x') } }],
      ['a pool size out of range', { ...base, configuration: { command: 'node', pool_size: 1000 } }],
      ['a non-string environment value', { ...base, configuration: { command: 'node', environment: { A: 1 } } }],
      ['an unknown field', { ...base, color: 'blue' }],
      ['a name too long', { ...base, name: 'n'.repeat(201) }],
    ])('refuses %s with 400 INVALID_PARAMETERS', async (_what, body) => {
      const res = await api.post('/api/servers', body);
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('INVALID_PARAMETERS');
      expect((await api.get('/api/servers/valid-id')).status).toBe(404);
    });

    it('needs a credential with mcp:admin', async () => {
      const res = await fetch(`${gateway.addresses.api}/api/servers`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(base),
      });
      expect(res.status).toBe(401);
    });
  });

  describe('upstream policy', () => {
    it('refuses a stdio command that is not on allowed-commands with 403', async () => {
      const res = await api.post('/api/servers', {
        ...everythingBody('shell'),
        configuration: { command: 'bash', args: ['-c', 'id'] },
      });
      expect(res.status).toBe(403);
      expect(res.body.error.code).toBe('AUTHORIZATION_DENIED');
      expect(res.body.error.message).toContain('allowed-commands');
      expect((await rawRows(db.url)).map((r) => r.id)).not.toContain('shell');
    });

    it.each(['http://169.254.169.254/latest/meta-data/', 'http://[fe80::1]/mcp', 'http://[::ffff:169.254.169.254]/'])(
      'refuses the link-local/metadata URL %s with 403',
      async (url) => {
        const res = await api.post('/api/servers', { id: 'metadata', type: 'http', configuration: { url } });
        expect(res.status).toBe(403);
        expect(res.body.error.code).toBe('AUTHORIZATION_DENIED');
        expect(res.body.error.message).toMatch(/link-local or metadata/);
      },
    );
  });

  describe('register, read, update', () => {
    it('registers a stdio server, starts it and answers 201 once it is active', async () => {
      const res = await api.post('/api/servers', everythingBody('api-everything', { SECRET_TOKEN: ENV_SECRET }));
      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({ id: 'api-everything', status: 'registered', server_status: 'active' });
      expect(res.body.initialization_time_ms).toBeGreaterThanOrEqual(0);
      const call = await api.post('/api/servers/api-everything/tools/echo', { message: 'hi' });
      expect(call.status).toBe(200);
      expect(JSON.stringify(call.body)).toContain('hi');
    });

    it('lists it with source api and real timestamps, secrets masked', async () => {
      const list = await api.get('/api/servers?limit=200');
      const summary = list.body.servers.find((s: any) => s.id === 'api-everything');
      expect(summary).toMatchObject({ source: 'api', type: 'stdio', status: 'active' });
      const [row] = (await rawRows(db.url)).filter((r) => r.id === 'api-everything');
      expect(new Date(summary.created_at).getTime()).toBe((row!.created_at as Date).getTime());
      expect(list.body.servers.find((s: any) => s.id === 'from-config').source).toBe('config');
      const details = await api.get('/api/servers/api-everything');
      expect(details.body.configuration.environment).toEqual({ SECRET_TOKEN: '***' });
      expect(details.body.description).toBe('registered by a test');
      expect(JSON.stringify(details.body)).not.toContain(ENV_SECRET);
      expect(JSON.stringify(list.body)).not.toContain(ENV_SECRET);
    });

    it('keeps secrets encrypted in the table (random IV per write)', async () => {
      const [row] = (await rawRows(db.url)).filter((r) => r.id === 'api-everything');
      const secrets = row!.secrets as Buffer;
      expect(secrets.length).toBeGreaterThan(29);
      expect(secrets.includes(Buffer.from(ENV_SECRET))).toBe(false);
      expect(JSON.stringify(row)).not.toContain(ENV_SECRET);
      expect(JSON.stringify(row)).not.toContain('SECRET_TOKEN');
    });

    it('keeps the generated key under the data dir with mode 0600', () => {
      const file = path.join(gateway.dir, 'data', 'encryption.key');
      expect(statSync(file).mode & 0o777).toBe(0o600);
      expect(Buffer.from(readFileSync(file, 'utf8').trim(), 'base64')).toHaveLength(32);
    });

    it('answers 409 CONFLICT for a duplicate id, and for an id of the configuration file', async () => {
      const duplicate = await api.post('/api/servers', everythingBody('api-everything'));
      expect(duplicate.status).toBe(409);
      expect(duplicate.body.error.code).toBe('CONFLICT');
      const config = await api.post('/api/servers', everythingBody('from-config'));
      expect(config.status).toBe(409);
      expect(config.body.error.message).toContain('configuration file');
    });

    it('refuses to change or remove a server of the configuration file (409)', async () => {
      const put = await api.put('/api/servers/from-config', { name: 'renamed' });
      expect(put.status).toBe(409);
      expect(put.body.error.message).toContain('read-only');
      const del = await api.del('/api/servers/from-config?force=true');
      expect(del.status).toBe(409);
      expect(engine().getServerState('from-config').status).toBe('active');
    });

    it('answers 404 for PUT and DELETE of an unknown id', async () => {
      expect((await api.put('/api/servers/nope', { name: 'x' })).status).toBe(404);
      expect((await api.del('/api/servers/nope')).status).toBe(404);
    });

    it('applies a PUT to the running pool at once, keeping masked secrets and re-encrypting', async () => {
      const before = engine().childPids('api-everything');
      const [oldRow] = (await rawRows(db.url)).filter((r) => r.id === 'api-everything');
      const res = await api.put('/api/servers/api-everything', {
        name: 'Renamed',
        configuration: { environment: { SECRET_TOKEN: '***', OTHER: 'other-s3cr3t-value' } },
      });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ id: 'api-everything', status: 'updated', restart_required: false });
      expect(await eventually(async () => engine().getServerState('api-everything').status === 'active', 15_000)).toBe(
        true,
      );
      expect(
        engine()
          .childPids('api-everything')
          .some((pid) => before.includes(pid)),
      ).toBe(false);
      const details = await api.get('/api/servers/api-everything');
      expect(details.body.name).toBe('Renamed');
      expect(details.body.configuration.environment).toEqual({ SECRET_TOKEN: '***', OTHER: '***' });
      expect(new Date(details.body.updated_at).getTime()).toBeGreaterThan(new Date(details.body.created_at).getTime());
      const [row] = (await rawRows(db.url)).filter((r) => r.id === 'api-everything');
      expect((row!.secrets as Buffer).equals(oldRow!.secrets as Buffer)).toBe(false);
      expect(JSON.stringify(row)).not.toContain('other-s3cr3t-value');
      expect(JSON.stringify(row)).not.toContain(ENV_SECRET);
    });

    it('refuses a PUT that points a stdio server at a command not allowed', async () => {
      const res = await api.put('/api/servers/api-everything', { configuration: { command: 'sh' } });
      expect(res.status).toBe(403);
      expect((await api.get('/api/servers/api-everything')).body.configuration.command).toBe('node');
    });

    it('stores http header values encrypted and masks them', async () => {
      const res = await api.post('/api/servers', {
        id: 'remote',
        type: 'http',
        configuration: { url: 'http://127.0.0.1:1/mcp', headers: { Authorization: HEADER_SECRET } },
        enabled: false,
      });
      expect(res.status).toBe(201);
      expect(res.body.server_status).toBe('inactive');
      const details = await api.get('/api/servers/remote');
      expect(details.body.configuration.headers).toEqual({ Authorization: '***' });
      expect(JSON.stringify(details.body)).not.toContain('header-s3cr3t');
      const [row] = (await rawRows(db.url)).filter((r) => r.id === 'remote');
      expect(JSON.stringify(row)).not.toContain('header-s3cr3t');
      expect((row!.secrets as Buffer).includes(Buffer.from('header-s3cr3t'))).toBe(false);
    });
  });

  describe('delete', () => {
    it('answers 409 while a call is in flight, and force removes the server and its processes', async () => {
      const created = await api.post('/api/servers', {
        id: 'api-recorder',
        type: 'stdio',
        configuration: { command: 'node', args: [RECORDER], timeout: 60_000 },
      });
      expect(created.status).toBe(201);
      expect(created.body.server_status).toBe('active');
      const pids = engine().childPids('api-recorder');
      expect(pids.length).toBeGreaterThan(0);
      const controller = new AbortController();
      const pending = fetch(`${gateway.addresses.api}/api/servers/api-recorder/tools/hang?timeout=60000`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...ADMIN_HEADERS },
        body: '{}',
        signal: controller.signal,
      }).catch((e: Error) => e);
      expect(await eventually(async () => engine().getServerState('api-recorder').inFlight > 0, 5000)).toBe(true);
      const refused = await api.del('/api/servers/api-recorder');
      expect(refused.status).toBe(409);
      expect(refused.body.error.details).toMatchObject({ in_flight: 1 });
      const removed = await api.del('/api/servers/api-recorder?force=true');
      expect(removed.status).toBe(200);
      expect(removed.body).toMatchObject({ id: 'api-recorder', status: 'removed' });
      controller.abort();
      await pending;
      expect((await api.get('/api/servers/api-recorder')).status).toBe(404);
      expect(await eventually(async () => pids.every((pid) => !isAlive(pid)), 10_000)).toBe(true);
      expect((await rawRows(db.url)).map((r) => r.id)).not.toContain('api-recorder');
    });
  });

  describe('restart', () => {
    it('brings the registered servers back, connected, after a restart of the gateway', async () => {
      const key = readFileSync(path.join(gateway.dir, 'data', 'encryption.key'), 'utf8').trim();
      const oldPids = engine().childPids('api-everything');
      await gateway.stop();
      expect(oldPids.every((pid) => !isAlive(pid))).toBe(true);
      gateway = await startTestGateway({ databaseUrl: db.url, yaml, env: { GLOBALMCP_ENCRYPTION_KEY: key } });
      expect(
        await eventually(async () => engine().getServerState('api-everything').status === 'active', 20_000, 100),
      ).toBe(true);
      const summary = (await api.get('/api/servers?limit=200')).body.servers.find(
        (s: any) => s.id === 'api-everything',
      );
      expect(summary).toMatchObject({ source: 'api', name: 'Renamed' });
      const call = await api.post('/api/servers/api-everything/tools/echo', { message: 'back' });
      expect(call.status).toBe(200);
      expect((await api.get('/api/servers/remote')).body.configuration.headers).toEqual({ Authorization: '***' });
      await sleep(0);
    });
  });
});
