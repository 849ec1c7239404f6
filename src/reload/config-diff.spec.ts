import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { appConfigSchema, type ServerEntry } from 'src/config/config.schema';
import { changedKeys, diffServers } from './config-diff';
import { ConfigServersSource } from 'src/config/config-servers.source';
import { fingerprint } from './config-reload.service';
import { watchedDirectories } from './config-watcher.service';

const entry = (command: string, extra: Record<string, unknown> = {}): ServerEntry =>
  appConfigSchema.parse({ mcp: { servers: { x: { type: 'stdio', command, ...extra } } } }).mcp.servers.x!;

describe('diffServers', () => {
  it('sorts ids into added, removed, changed and unchanged', () => {
    const before = { a: entry('a'), b: entry('b'), c: entry('c') };
    const after = { a: entry('a'), b: entry('b', { args: ['--x'] }), d: entry('d') };
    expect(diffServers(before, after)).toEqual({ added: ['d'], removed: ['c'], changed: ['b'], unchanged: ['a'] });
  });

  it('sees a change in a nested map (environment) and in enabled', () => {
    expect(diffServers({ a: entry('a') }, { a: entry('a', { environment: { K: 'v' } }) }).changed).toEqual(['a']);
    expect(diffServers({ a: entry('a') }, { a: entry('a', { enabled: false }) }).changed).toEqual(['a']);
  });
});

describe('changedKeys', () => {
  it('lists the keys that differ, leaving mcp.servers out', () => {
    const before = appConfigSchema.parse({ mcp: { servers: { a: { type: 'stdio', command: 'a' } } } });
    const after = appConfigSchema.parse({
      server: { port: 9999 },
      logging: { level: { root: 'DEBUG' } },
      mcp: { servers: {}, client: { defaultTimeout: 5 } },
    });
    expect(changedKeys(before, after)).toEqual(['logging.level.root', 'mcp.client.defaultTimeout', 'server.port']);
    expect(changedKeys(before, before)).toEqual([]);
  });
});

describe('ConfigServersSource', () => {
  it('keeps createdAt of servers still present and moves updatedAt only for changed ones', async () => {
    const source = new ConfigServersSource({ a: entry('a'), b: entry('b') });
    const createdA = source.get('a')!.createdAt;
    const updatedB = source.get('b')!.updatedAt;
    await new Promise((r) => setTimeout(r, 5));
    const events: unknown[] = [];
    source.on('changed', (d) => events.push(d));
    const diff = { added: ['c'], removed: ['b'], changed: ['a'] };
    source.replace({ a: entry('a', { args: ['1'] }), c: entry('c') }, diff);
    expect(Object.keys(source.current)).toEqual(['a', 'c']);
    expect(source.get('a')!.createdAt).toBe(createdA);
    expect(source.get('a')!.updatedAt.getTime()).toBeGreaterThan(createdA.getTime());
    expect(source.get('b')).toBeUndefined();
    expect(updatedB).toBeDefined();
    expect(events).toEqual([diff]);
  });
});

describe('watched directories and fingerprints', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'globalmcp-reload-unit-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('watches a ConfigMap mount by its directory only, and a symlink elsewhere also by its target directory', () => {
    const mount = path.join(dir, 'servers');
    mkdirSync(path.join(mount, '..2026_01'), { recursive: true });
    writeFileSync(path.join(mount, '..2026_01', 'servers.yml'), 'mcp: {}\n');
    symlinkSync('..2026_01', path.join(mount, '..data'));
    symlinkSync('..data/servers.yml', path.join(mount, 'servers.yml'));
    const other = path.join(dir, 'elsewhere');
    mkdirSync(other);
    writeFileSync(path.join(other, 'real.yml'), '');
    const etc = path.join(dir, 'etc');
    mkdirSync(etc);
    symlinkSync(path.join(other, 'real.yml'), path.join(etc, 'application.yml'));
    expect(watchedDirectories([path.join(mount, 'servers.yml'), path.join(etc, 'application.yml')])).toEqual([
      mount,
      etc,
      other,
    ]);
  });

  it('changes when the content behind a symlink changes, and when a file disappears', () => {
    const a = path.join(dir, 'a.yml');
    writeFileSync(a, 'x: 1\n');
    const link = path.join(dir, 'link.yml');
    symlinkSync(a, link);
    const first = fingerprint([link]);
    expect(fingerprint([link])).toBe(first);
    writeFileSync(a, 'x: 2\n');
    const second = fingerprint([link]);
    expect(second).not.toBe(first);
    rmSync(a);
    expect(fingerprint([link])).not.toBe(second);
  });
});
