import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startGateway, type RunningGateway } from 'src/bootstrap/application';
import { loadConfig } from 'src/config/config.loader';
import { McpEngine } from 'src/mcp/mcp-engine';
import { ConfigReloadService } from 'src/reload/config-reload.service';
import { freePort } from '../support/ports';
import { isAlive } from '../support/processes';
import { createTestDatabase, type TestDatabase } from '../support/test-database';
import { startTestGateway, type TestGateway } from '../support/test-gateway';
import { ADMIN_API_KEY, apiFetch, startChildGateway, toolboxServer, waitFor, type ChildGateway } from './live-support';

/**
 * Configuration reload (src/reload): the servers file is watched (plain edits and Kubernetes ConfigMap symlink
 * swaps), SIGHUP reloads, an invalid edit keeps the running configuration and shows in the metrics.
 */

const serversYaml = (servers: string, extra = '') =>
  `mcp:\n  reload:\n    debounce: 150\n  servers:\n${servers}${extra}`;

async function serverStatus(api: string, id: string): Promise<string | number> {
  const res = await apiFetch(`${api}/api/servers/${id}`);
  if (res.status !== 200) return res.status;
  return ((await res.json()) as { status: string }).status;
}

async function metricValue(management: string, name: string): Promise<number | undefined> {
  const text = await (await fetch(`${management}/actuator/prometheus`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.split(' ')[1]);
}

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase('reload');
});

afterAll(async () => {
  await db?.drop();
});

describe('reload of an edited servers file (in-process gateway, file watch)', () => {
  let gateway: TestGateway;
  let api: string;
  let engine: McpEngine;
  let serversFile: string;

  beforeAll(async () => {
    gateway = await startTestGateway({
      databaseUrl: db.url,
      env: { GLOBALMCP_ADMIN_API_KEY: ADMIN_API_KEY },
      yaml: serversYaml(toolboxServer('alpha')),
    });
    api = gateway.addresses.api;
    engine = gateway.api.get(McpEngine);
    serversFile = path.join(gateway.dir, 'test.yml');
    await waitFor(async () => (await serverStatus(api, 'alpha')) === 'active', 30_000, 'alpha to be active');
  }, 60_000);

  afterAll(async () => {
    await gateway?.stop();
  });

  it('an added server starts without a restart; the others are untouched', async () => {
    const alphaPids = engine.childPids('alpha');
    expect(alphaPids).toHaveLength(1);
    writeFileSync(serversFile, serversYaml(toolboxServer('alpha') + toolboxServer('beta')));
    await waitFor(async () => (await serverStatus(api, 'beta')) === 'active', 30_000, 'beta to be active');
    expect(engine.childPids('beta')).toHaveLength(1);
    expect(engine.childPids('alpha')).toEqual(alphaPids);
    const tools = (await (await apiFetch(`${api}/api/tools?server_id=beta`)).json()) as { total_count: number };
    expect(tools.total_count).toBeGreaterThan(0);
  }, 40_000);

  it('a changed server restarts with its new entry', async () => {
    const before = engine.childPids('alpha');
    writeFileSync(
      serversFile,
      serversYaml(toolboxServer('alpha', '      environment:\n        RELOADED: "yes"\n') + toolboxServer('beta')),
    );
    await waitFor(
      () => engine.childPids('alpha').length === 1 && engine.childPids('alpha')[0] !== before[0],
      30_000,
      'alpha to be respawned',
    );
    await waitFor(async () => (await serverStatus(api, 'alpha')) === 'active', 30_000, 'alpha to be active again');
    // Active comes before discovery finishes: wait for the new process's catalog before calling its tool.
    await waitFor(
      async () =>
        ((await (await apiFetch(`${api}/api/tools?server_id=alpha`)).json()) as { total_count: number }).total_count >
        0,
      30_000,
      'alpha tools to be discovered again',
    );
    const res = await apiFetch(`${api}/api/tools/env/execute`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ server_id: 'alpha', parameters: { name: 'RELOADED' } }),
    });
    expect(res.status).toBe(200);
    expect(JSON.stringify(await res.json())).toContain('yes');
  }, 40_000);

  it('a removed server stops: gone from the API and its process is gone', async () => {
    const betaPids = engine.childPids('beta');
    expect(betaPids).toHaveLength(1);
    writeFileSync(serversFile, serversYaml(toolboxServer('alpha', '      environment:\n        RELOADED: "yes"\n')));
    await waitFor(async () => (await serverStatus(api, 'beta')) === 404, 30_000, 'beta to be removed');
    await waitFor(() => !isAlive(betaPids[0]!), 10_000, 'the beta process to exit');
    expect(engine.listServerStates().map((s) => s.id)).toEqual(['alpha']);
  }, 40_000);

  it('an invalid edit keeps the running configuration, says which key, and sets the metrics', async () => {
    const management = gateway.addresses.management;
    const failuresBefore = (await metricValue(management, 'config_reload_failures_total')) ?? 0;
    const alphaPids = engine.childPids('alpha');
    // alpha is gone from the file and a broken server is added: nothing of it may be applied.
    writeFileSync(serversFile, serversYaml('    broken:\n      type: bogus\n'));
    await waitFor(
      async () => (await metricValue(management, 'config_reload_failures_total')) === failuresBefore + 1,
      10_000,
      'the failure to be counted',
    );
    expect(await metricValue(management, 'config_last_reload_success')).toBe(0);
    expect(await serverStatus(api, 'alpha')).toBe('active');
    expect(await serverStatus(api, 'broken')).toBe(404);
    expect(engine.childPids('alpha')).toEqual(alphaPids);
    // The same file through the SIGHUP path returns the reason: the key path of the bad value.
    const result = await gateway.api.get(ConfigReloadService).reload('SIGHUP');
    expect(result.status).toBe('failed');
    expect(result.errors!.join('\n')).toMatch(/mcp\.servers\.broken\.type: expected one of stdio, http, sse/);
    // Fixed again: success is back to 1, and the timestamp is recent.
    writeFileSync(serversFile, serversYaml(toolboxServer('alpha', '      environment:\n        RELOADED: "yes"\n')));
    await waitFor(
      async () => (await metricValue(management, 'config_last_reload_success')) === 1,
      10_000,
      'a successful reload',
    );
    expect(Date.now() / 1000 - (await metricValue(management, 'config_last_reload_timestamp_seconds'))!).toBeLessThan(
      30,
    );
    expect(engine.childPids('alpha')).toEqual(alphaPids);
  }, 40_000);

  it('SIGHUP path: the method the handler calls applies at once and names the keys a restart needs', async () => {
    writeFileSync(
      serversFile,
      serversYaml(
        toolboxServer('alpha', '      environment:\n        RELOADED: "yes"\n') + toolboxServer('gamma'),
        '  client:\n    default-timeout: 12345\n',
      ),
    );
    const result = await gateway.api.get(ConfigReloadService).reload('SIGHUP');
    expect(result).toMatchObject({
      status: 'applied',
      servers: { added: ['gamma'], removed: [], changed: [], unchanged: ['alpha'] },
      notApplied: ['mcp.client.defaultTimeout'],
    });
    // Listed immediately (starting or already active), active soon after.
    expect(await serverStatus(api, 'gamma')).not.toBe(404);
    await waitFor(async () => (await serverStatus(api, 'gamma')) === 'active', 30_000, 'gamma to be active');
    // The same files again: nothing to apply.
    expect((await gateway.api.get(ConfigReloadService).reload('SIGHUP')).status).toBe('unchanged');
  }, 40_000);
});

describe('reload of a Kubernetes ConfigMap volume (..data symlink swap)', () => {
  let gateway: RunningGateway;
  let dir: string;
  let mount: string;
  let api: string;
  let engine: McpEngine;
  let version = 0;

  /** What the kubelet does: write a new timestamped dir, point `..data_tmp` at it, rename it over `..data`. */
  const publish = (yaml: string, first = false) => {
    const previous = `..2026_01_01_00_00_0${version}`;
    version += 1;
    const next = `..2026_01_01_00_00_0${version}`;
    mkdirSync(path.join(mount, next));
    writeFileSync(path.join(mount, next, 'servers.yml'), yaml);
    if (first) {
      symlinkSync(next, path.join(mount, '..data'));
      symlinkSync('..data/servers.yml', path.join(mount, 'servers.yml'));
      return;
    }
    symlinkSync(next, path.join(mount, '..data_tmp'));
    renameSync(path.join(mount, '..data_tmp'), path.join(mount, '..data'));
    rmSync(path.join(mount, previous), { recursive: true, force: true });
  };

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'globalmcp-configmap-'));
    mount = path.join(dir, 'servers');
    mkdirSync(mount);
    publish(serversYaml(toolboxServer('one')), true);
    const base = path.join(dir, 'application.yml');
    writeFileSync(
      base,
      `server:\n  port: 0\n  address: 127.0.0.1\nmanagement:\n  server:\n    port: 0\n  prometheus:\n    port: ${await freePort()}\n` +
        `logging:\n  level:\n    root: WARN\nmcp:\n  data-dir: ${dir}/data\n`,
    );
    const loaded = loadConfig({
      configFiles: `${base},${path.join(mount, 'servers.yml')}`,
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        DATABASE_URL: db.url,
        GLOBALMCP_ADMIN_API_KEY: ADMIN_API_KEY,
      },
    });
    gateway = await startGateway(loaded);
    api = gateway.addresses.api;
    engine = gateway.api.get(McpEngine);
    await waitFor(async () => (await serverStatus(api, 'one')) === 'active', 30_000, 'one to be active');
  }, 60_000);

  afterAll(async () => {
    await gateway?.shutdown('test finished');
    rmSync(dir, { recursive: true, force: true });
  });

  it('sees an atomic ..data swap (the file path itself never changes) and applies it', async () => {
    publish(serversYaml(toolboxServer('one') + toolboxServer('two')));
    await waitFor(async () => (await serverStatus(api, 'two')) === 'active', 30_000, 'two to be active');
  }, 40_000);

  it('sees the next swap too (the watch survives the old version directory being deleted)', async () => {
    const onePids = engine.childPids('one');
    publish(serversYaml(toolboxServer('two')));
    await waitFor(async () => (await serverStatus(api, 'one')) === 404, 30_000, 'one to be removed');
    await waitFor(() => onePids.every((pid) => !isAlive(pid)), 10_000, 'the process of one to exit');
    expect(await serverStatus(api, 'two')).toBe('active');
  }, 40_000);
});

describe('SIGHUP to a built gateway (node dist/src/main.js, file watch off)', () => {
  let gateway: ChildGateway;

  beforeAll(async () => {
    gateway = await startChildGateway({
      databaseUrl: db.url,
      extraYaml: `mcp:\n  reload:\n    enabled: false\n  servers:\n${toolboxServer('alpha')}`,
    });
    await waitFor(async () => (await serverStatus(gateway.api, 'alpha')) === 'active', 30_000, 'alpha');
  }, 120_000);

  afterAll(async () => {
    await gateway?.stop();
  });

  it('applies the edited servers file on SIGHUP only, and keeps running', async () => {
    writeFileSync(
      path.join(gateway.dir, 'servers.yml'),
      `mcp:\n  reload:\n    enabled: false\n  servers:\n${toolboxServer('alpha')}${toolboxServer('delta')}`,
    );
    await new Promise((r) => setTimeout(r, 1500));
    expect(await serverStatus(gateway.api, 'delta')).toBe(404); // not watched: nothing happens by itself
    process.kill(gateway.child.pid!, 'SIGHUP');
    await waitFor(async () => (await serverStatus(gateway.api, 'delta')) === 'active', 30_000, 'delta after SIGHUP');
    expect(gateway.child.exitCode).toBeNull();
    expect(gateway.output()).toMatch(/Configuration reloaded \(SIGHUP\)/);
    expect(await serverStatus(gateway.api, 'alpha')).toBe('active');
  }, 40_000);
});
