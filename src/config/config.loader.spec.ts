import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  ConfigError,
  DEFAULT_APP_ROOT,
  loadConfig,
  type LoadedConfig,
  type LoadOptions,
} from 'src/config/config.loader';

const GUIDE_DIR = path.join(DEFAULT_APP_ROOT, 'test', 'fixtures', 'guide');
const FIXTURE_DIR = path.join(DEFAULT_APP_ROOT, 'test', 'fixtures', 'config');

let dir: string;

beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'globalmcp-config-'));
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** Writes a file into the test's temp directory and returns its absolute path. */
function file(name: string, text: string): string {
  const full = path.join(dir, name);
  mkdirSync(path.dirname(full), { recursive: true });
  writeFileSync(full, text);
  return full;
}

/** Loads with an isolated environment and an app root without `config/application.yml`. */
function load(options: LoadOptions = {}): LoadedConfig {
  return loadConfig({ appRoot: dir, env: {}, ...options });
}

function loadError(options: LoadOptions = {}): ConfigError {
  try {
    load(options);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected the configuration to be refused');
}

describe('loadConfig: defaults', () => {
  it('uses the built-in defaults when no file is named and config/application.yml does not exist', () => {
    const { config, sources, profiles, warnings, environmentKeys, configDir } = load();
    expect(sources).toEqual([]);
    expect(profiles).toEqual([]);
    expect(warnings).toEqual([]);
    expect(environmentKeys).toEqual([]);
    expect(configDir).toBe(path.join(dir, 'config'));
    expect(config.server.port).toBe(8080);
    expect(config.management.server.port).toBe(8081);
    expect(config.management.prometheus.port).toBe(9090);
    expect(config.mcp.client.defaultTimeout).toBe(30_000);
    expect(config.mcp.servers).toEqual({});
    expect(config.spring.datasource.url).toBeUndefined();
    expect(config.spring.datasource.hikari.maximumPoolSize).toBe(10);
    expect(config.mcp.dataDir).toBe('./data');
  });

  it('reads config/application.yml under the app root when no file is named', () => {
    const f = file('config/application.yml', 'server:\n  port: 7000\n');
    const { config, sources, configDir } = load();
    expect(config.server.port).toBe(7000);
    expect(sources).toEqual([f]);
    expect(configDir).toBe(path.join(dir, 'config'));
  });

  it('treats an empty file as no settings', () => {
    const f = file('empty.yml', '# nothing here\n');
    expect(load({ configFiles: f }).config.server.port).toBe(8080);
  });

  it('resolves the app root to the project (where package.json is), from src/ and dist/ alike', () => {
    expect(readdirSync(DEFAULT_APP_ROOT)).toContain('package.json');
    expect(path.basename(DEFAULT_APP_ROOT)).not.toBe('dist');
  });
});

describe('loadConfig: which files', () => {
  it('prefers --config over GLOBALMCP_CONFIG over SPRING_CONFIG_LOCATION', () => {
    const cli = file('cli.yml', 'server:\n  port: 1001\n');
    const globalmcp = file('globalmcp.yml', 'server:\n  port: 1002\n');
    const spring = file('spring.yml', 'server:\n  port: 1003\n');
    const env = { GLOBALMCP_CONFIG: globalmcp, SPRING_CONFIG_LOCATION: spring };
    expect(load({ configFiles: cli, env }).config.server.port).toBe(1001);
    expect(load({ configFiles: cli, env }).sources).toEqual([cli]);
    expect(load({ env }).config.server.port).toBe(1002);
    expect(load({ env: { SPRING_CONFIG_LOCATION: spring } }).config.server.port).toBe(1003);
  });

  it('falls through an empty GLOBALMCP_CONFIG to SPRING_CONFIG_LOCATION', () => {
    const spring = file('spring.yml', 'server:\n  port: 1003\n');
    expect(load({ env: { GLOBALMCP_CONFIG: '', SPRING_CONFIG_LOCATION: spring } }).config.server.port).toBe(1003);
  });

  it('merges a comma-separated list in order, later files overriding earlier ones', () => {
    const a = file('a.yml', 'server:\n  port: 1001\n  address: 127.0.0.1\nmcp:\n  client:\n    default-timeout: 1s\n');
    const b = file('b.yml', 'server:\n  port: 1002\n');
    const { config, sources } = load({ configFiles: `${a}, ${b}` });
    expect(sources).toEqual([a, b]);
    expect(config.server.port).toBe(1002);
    expect(config.server.address).toBe('127.0.0.1');
    expect(config.mcp.client.defaultTimeout).toBe(1000);
    expect(load({ configFiles: `${b},${a}` }).config.server.port).toBe(1001);
  });

  it('merges maps of servers across files instead of replacing them', () => {
    const a = file('a.yml', 'mcp:\n  servers:\n    one:\n      type: stdio\n      command: node\n');
    const b = file('b.yml', 'mcp:\n  servers:\n    two:\n      type: http\n      url: http://localhost:3000/mcp\n');
    expect(Object.keys(load({ configFiles: `${a},${b}` }).config.mcp.servers)).toEqual(['one', 'two']);
  });

  it('does not let an empty `servers:` in a later file erase servers from an earlier one', () => {
    const a = file('a.yml', 'mcp:\n  servers:\n    one:\n      type: stdio\n      command: node\n');
    const b = file('b.yml', 'mcp:\n  servers:\n');
    expect(Object.keys(load({ configFiles: `${a},${b}` }).config.mcp.servers)).toEqual(['one']);
  });

  it('treats an empty value as unset, so the default applies', () => {
    const f = file('a.yml', 'server:\n  port:\n');
    expect(load({ configFiles: f }).config.server.port).toBe(8080);
  });

  it('accepts Spring location prefixes and directories', () => {
    const f = file('conf/application.yml', 'server:\n  port: 1234\n');
    expect(load({ configFiles: `file:${f}` }).config.server.port).toBe(1234);
    expect(load({ configFiles: path.join(dir, 'conf') }).sources).toEqual([f]);
    expect(load({ configFiles: `optional:${path.join(dir, 'missing.yml')},${f}` }).sources).toEqual([f]);
  });

  it('refuses a named file that does not exist', () => {
    const missing = path.join(dir, 'missing.yml');
    const error = loadError({ configFiles: missing });
    expect(error.issues).toEqual([{ path: '(config location)', message: `config file not found: ${missing}` }]);
    expect(loadError({ env: { GLOBALMCP_CONFIG: missing } }).issues[0]?.message).toContain('config file not found');
  });

  it("refuses the console's OAuth2 client id without an issuer (boot loads the same way), and takes it with one", () => {
    const lonely = file('console.yml', 'mcp:\n  console:\n    oauth2:\n      client-id: globalmcp-console\n');
    expect(loadError({ configFiles: lonely }).issues).toEqual([
      {
        path: 'mcp.console.oauth2.client-id',
        message: 'needs spring.security.oauth2.resourceserver.jwt.issuer-uri: the console signs in at that issuer',
      },
    ]);
    const { config } = load({
      configFiles: lonely,
      env: { SPRING_SECURITY_OAUTH2_RESOURCESERVER_JWT_ISSUER_URI: 'https://id.example.com' },
    });
    expect(config.mcp.console.oauth2).toEqual({
      clientId: 'globalmcp-console',
      scopes: ['openid', 'mcp:read', 'mcp:write', 'mcp:admin'],
    });
  });

  it('sets configDir to the directory of the last base file', () => {
    const a = file('one/a.yml', '{}\n');
    const b = file('two/b.yml', '{}\n');
    expect(load({ configFiles: `${a},${b}` }).configDir).toBe(path.join(dir, 'two'));
  });
});

describe('loadConfig: profiles', () => {
  it('loads application-{profile}.yml for SPRING_PROFILES_ACTIVE, in profile order', () => {
    const base = file('application.yml', 'server:\n  port: 1000\n');
    const dev = file('application-dev.yml', 'server:\n  port: 2000\n  address: 10.0.0.1\n');
    const local = file('application-local.yml', 'server:\n  port: 3000\n');
    const { config, sources, profiles } = load({ configFiles: base, env: { SPRING_PROFILES_ACTIVE: 'dev,local' } });
    expect(profiles).toEqual(['dev', 'local']);
    expect(sources).toEqual([base, dev, local]);
    expect(config.server.port).toBe(3000);
    expect(config.server.address).toBe('10.0.0.1');
  });

  it('prefers GLOBALMCP_PROFILES over SPRING_PROFILES_ACTIVE', () => {
    const base = file('application.yml', '{}\n');
    file('application-a.yml', 'server:\n  port: 1111\n');
    file('application-b.yml', 'server:\n  port: 2222\n');
    const loaded = load({ configFiles: base, env: { GLOBALMCP_PROFILES: 'b', SPRING_PROFILES_ACTIVE: 'a' } });
    expect(loaded.profiles).toEqual(['b']);
    expect(loaded.config.server.port).toBe(2222);
  });

  it('uses spring.profiles.active from the file when no variable names a profile', () => {
    const base = file('application.yml', 'spring:\n  profiles:\n    active: production\n');
    file('application-production.yml', 'server:\n  port: 4444\n');
    const loaded = load({ configFiles: base });
    expect(loaded.profiles).toEqual(['production']);
    expect(loaded.config.server.port).toBe(4444);
    // The variable wins over the file.
    file('application-dev.yml', 'server:\n  port: 5555\n');
    expect(load({ configFiles: base, env: { SPRING_PROFILES_ACTIVE: 'dev' } }).config.server.port).toBe(5555);
  });

  it('adds spring.profiles.include before the active profiles', () => {
    const base = file('application.yml', 'spring:\n  profiles:\n    include: common\n    active: dev\n');
    expect(load({ configFiles: base }).profiles).toEqual(['common', 'dev']);
  });

  it('looks for profile files next to every base file (the ConfigMap layout)', () => {
    const app = file('application.yml', '{}\n');
    const servers = file('servers.yml', '{}\n');
    const serversProd = file('servers-prod.yml', 'mcp:\n  servers:\n    p:\n      type: stdio\n      command: node\n');
    const loaded = load({ configFiles: `${app},${servers}`, env: { SPRING_PROFILES_ACTIVE: 'prod' } });
    expect(loaded.sources).toEqual([app, servers, serversProd]);
    expect(Object.keys(loaded.config.mcp.servers)).toEqual(['p']);
  });

  it('looks for profile files in <appRoot>/config when no base file exists', () => {
    const dev = file('config/application-dev.yml', 'server:\n  port: 6060\n');
    const loaded = load({ env: { SPRING_PROFILES_ACTIVE: 'dev' } });
    expect(loaded.sources).toEqual([dev]);
    expect(loaded.config.server.port).toBe(6060);
  });

  it('ignores a profile that has no file', () => {
    const base = file('application.yml', '{}\n');
    const loaded = load({ configFiles: base, env: { SPRING_PROFILES_ACTIVE: 'kubernetes' } });
    expect(loaded.profiles).toEqual(['kubernetes']);
    expect(loaded.sources).toEqual([base]);
  });

  it('refuses a profile name that could point outside the config directory', () => {
    const base = file('application.yml', '{}\n');
    expect(loadError({ configFiles: base, env: { SPRING_PROFILES_ACTIVE: '../../etc/x' } }).issues[0]?.path).toBe(
      'spring.profiles.active',
    );
  });

  it('applies `---` documents activated by spring.config.activate.on-profile', () => {
    const base = file(
      'application.yml',
      [
        'server:',
        '  port: 1000',
        '---',
        'spring:',
        '  config:',
        '    activate:',
        '      on-profile: prod',
        'server:',
        '  port: 2000',
        '---',
        'spring:',
        '  config:',
        '    activate:',
        '      on-profile: "!prod"',
        'server:',
        '  address: 127.0.0.1',
        '',
      ].join('\n'),
    );
    expect(load({ configFiles: base }).config.server).toMatchObject({ port: 1000, address: '127.0.0.1' });
    expect(load({ configFiles: base, env: { SPRING_PROFILES_ACTIVE: 'prod' } }).config.server).toMatchObject({
      port: 2000,
      address: '0.0.0.0',
    });
  });
});

describe('loadConfig: environment variables', () => {
  const base = () =>
    file(
      'application.yml',
      'server:\n  port: 1000\nmanagement:\n  server:\n    port: 1001\n  prometheus:\n    port: 1002\n',
    );

  it('lets relaxed variables override the files', () => {
    const { config, environmentKeys } = load({
      configFiles: base(),
      env: { SERVER_PORT: '2000', MANAGEMENT_SERVER_PORT: '2001', MANAGEMENT_PROMETHEUS_PORT: '0' },
    });
    expect(config.server.port).toBe(2000);
    expect(config.management.server.port).toBe(2001);
    expect(config.management.prometheus.port).toBe(0);
    expect(environmentKeys.sort()).toEqual(['MANAGEMENT_PROMETHEUS_PORT', 'MANAGEMENT_SERVER_PORT', 'SERVER_PORT']);
  });

  it('binds multi-word keys in the underscore and the dashless form', () => {
    expect(load({ env: { MCP_CLIENT_DEFAULT_TIMEOUT: '60s' } }).config.mcp.client.defaultTimeout).toBe(60_000);
    expect(load({ env: { MCP_CLIENT_DEFAULTTIMEOUT: 'PT2M' } }).config.mcp.client.defaultTimeout).toBe(120_000);
    expect(
      load({ env: { SPRING_DATASOURCE_HIKARI_MAXIMUMPOOLSIZE: '42' } }).config.spring.datasource.hikari.maximumPoolSize,
    ).toBe(42);
    expect(
      load({ env: { MCP_SECURITY_RATE_LIMITING_ENABLED: 'false' } }).config.mcp.security.rateLimiting.enabled,
    ).toBe(false);
  });

  it('binds SPRING_DATASOURCE_URL and the DATABASE_URL shorthand, the canonical name winning', () => {
    const url = 'postgres://u:p@db:5432/app';
    expect(load({ env: { DATABASE_URL: url } }).config.spring.datasource.url).toBe(url);
    const both = load({ env: { DATABASE_URL: url, SPRING_DATASOURCE_URL: 'jdbc:postgresql://other:5432/x' } });
    expect(both.config.spring.datasource.url).toBe('jdbc:postgresql://other:5432/x');
    expect(both.environmentKeys).toEqual(['SPRING_DATASOURCE_URL']);
  });

  it('binds REDIS_URL, JWT_SECRET and the other declared aliases', () => {
    const { config } = load({
      env: {
        REDIS_URL: 'redis://:pw@cache:6379/1',
        JWT_SECRET: 's'.repeat(40),
        GLOBALMCP_DATA_DIR: '/var/lib/globalmcp',
        PORT: '3000',
      },
    });
    expect(config.spring.data.redis.url).toBe('redis://:pw@cache:6379/1');
    expect(config.mcp.security.jwt.secret).toBe('s'.repeat(40));
    expect(config.mcp.dataDir).toBe('/var/lib/globalmcp');
    expect(config.server.port).toBe(3000);
    expect(load({ env: { PORT: '3000', SERVER_PORT: '4000' } }).config.server.port).toBe(4000);
  });

  it('ignores empty variables', () => {
    expect(load({ configFiles: base(), env: { SERVER_PORT: '' } }).config.server.port).toBe(1000);
  });

  it('sets logging levels with LOGGING_LEVEL_<NAME>, matching names the files use', () => {
    const f = file('log.yml', 'logging:\n  level:\n    root: INFO\n    com.deepai.mcpclient: INFO\n');
    const { config } = load({
      configFiles: f,
      env: {
        LOGGING_LEVEL_ROOT: 'DEBUG',
        LOGGING_LEVEL_COM_DEEPAI_MCPCLIENT: 'WARN',
        LOGGING_LEVEL_MCPENGINE: 'TRACE',
      },
    });
    expect(config.logging.level).toEqual({ root: 'DEBUG', 'com.deepai.mcpclient': 'WARN', mcpengine: 'TRACE' });
  });

  it('configures servers with MCP_SERVERS_<ID>_<FIELD>', () => {
    const f = file(
      'servers.yml',
      'mcp:\n  servers:\n    mongodb-production:\n      type: stdio\n      command: java\n      environment:\n        MONGODB_URI: x\n',
    );
    const { config } = load({
      configFiles: f,
      env: {
        MCP_SERVERS_MONGODB_PRODUCTION_ENABLED: 'false',
        MCP_SERVERS_MONGODB_PRODUCTION_ENVIRONMENT_MONGODB_URI: 'mongodb://prod',
        MCP_SERVERS_MONGODB_PRODUCTION_POOL_SIZE: '4',
        MCP_SERVERS_WEATHER_TYPE: 'http',
        MCP_SERVERS_WEATHER_URL: 'https://weather.example/mcp',
        MCP_SERVERS_WEATHER_TIMEOUT: '5s',
        MCP_SERVERS_WEATHER_HEADERS_CONTENT_TYPE: 'application/json',
        MCP_SERVERS_WEATHER_HEADERS_X_API_KEY: 'k',
      },
    });
    const mongo = config.mcp.servers['mongodb-production']!;
    expect(mongo.enabled).toBe(false);
    expect(mongo.environment).toEqual({ MONGODB_URI: 'mongodb://prod' });
    expect(mongo.poolSize).toBe(4);
    expect(config.mcp.servers.weather).toMatchObject({
      type: 'http',
      url: 'https://weather.example/mcp',
      timeout: 5000,
      headers: { 'CONTENT-TYPE': 'application/json', 'X-API-KEY': 'k' },
    });
  });

  it('fails a stdio server configured only by environment at its command', () => {
    expect(loadError({ env: { MCP_SERVERS_TOOLS_TYPE: 'stdio' } }).issues).toEqual([
      { path: 'mcp.servers.tools.command', message: 'a stdio server needs a command' },
    ]);
  });

  it('does not bind variables to keys that are accepted and ignored', () => {
    const { environmentKeys } = load({ env: { SPRING_JPA_SHOW_SQL: 'true', SERVER_TOMCAT_THREADS_MAX: '10' } });
    expect(environmentKeys).toEqual([]);
  });
});

describe('loadConfig: interpolation', () => {
  it('expands ${VAR} and ${VAR:default}, also inside longer strings', () => {
    const f = file(
      'a.yml',
      [
        'server:',
        '  port: ${API_PORT:8181}',
        'spring:',
        '  datasource:',
        '    url: jdbc:postgresql://${DB_HOST}:${DB_PORT:5432}/globalmcp',
        '    password: ${POSTGRES_PASSWORD}',
        'mcp:',
        '  client:',
        '    default-timeout: ${TIMEOUT:15s}',
        '',
      ].join('\n'),
    );
    const { config, warnings } = load({ configFiles: f, env: { DB_HOST: 'pg', POSTGRES_PASSWORD: 'secret' } });
    expect(config.server.port).toBe(8181);
    expect(config.spring.datasource.url).toBe('jdbc:postgresql://pg:5432/globalmcp');
    expect(config.spring.datasource.password).toBe('secret');
    expect(config.mcp.client.defaultTimeout).toBe(15_000);
    expect(warnings).toEqual([]);
    expect(load({ configFiles: f, env: { DB_HOST: 'pg', API_PORT: '9999' } }).config.server.port).toBe(9999);
  });

  it('leaves a key with an unresolved placeholder unset and warns, naming it once', () => {
    const f = file(
      'a.yml',
      'spring:\n  datasource:\n    password: ${POSTGRES_PASSWORD}\n    url: jdbc:postgresql://${DB_HOST}/x\n',
    );
    const { config, warnings } = load({ configFiles: f });
    expect(config.spring.datasource.password).toBeUndefined();
    expect(config.spring.datasource.url).toBe('jdbc:postgresql:///x');
    expect(warnings).toEqual([
      'Placeholders with no environment variable and no default were left unset: ${POSTGRES_PASSWORD}, ${DB_HOST}',
    ]);
  });

  it('keeps list positions when an element is unresolved', () => {
    const f = file(
      'a.yml',
      'mcp:\n  servers:\n    s:\n      type: stdio\n      command: node\n      args: ["${A}", "b"]\n',
    );
    expect(load({ configFiles: f }).config.mcp.servers.s?.args).toEqual(['', 'b']);
  });

  it('expands placeholders in server environment and header values', () => {
    const f = file(
      'guide-servers.yml',
      'mcp:\n  servers:\n    m:\n      type: stdio\n      command: java\n      environment:\n        MONGODB_URI: "${MONGODB_PROD_URI}"\n',
    );
    expect(
      load({ configFiles: f, env: { MONGODB_PROD_URI: 'mongodb://m' } }).config.mcp.servers.m?.environment,
    ).toEqual({ MONGODB_URI: 'mongodb://m' });
  });

  it('does not warn about placeholders inside keys that are ignored anyway', () => {
    const { warnings } = load({ configFiles: path.join(GUIDE_DIR, 'oauth2.yml') });
    expect(warnings.some((w) => w.includes('OAUTH2_CLIENT_ID'))).toBe(false);
  });
});

describe('loadConfig: relaxed keys and value forms', () => {
  it('accepts kebab-case, camelCase and snake_case keys alike', () => {
    for (const key of ['default-timeout', 'defaultTimeout', 'default_timeout', 'DEFAULT-TIMEOUT']) {
      const f = file(`${key}.yml`, `mcp:\n  client:\n    ${key}: 1234\n`);
      expect(load({ configFiles: f }).config.mcp.client.defaultTimeout).toBe(1234);
    }
  });

  it('parses durations as milliseconds, seconds, minutes and ISO-8601', () => {
    const cases: [string, number][] = [
      ['15000', 15_000],
      ['60s', 60_000],
      ['5m', 300_000],
      ['PT1M', 60_000],
      ['PT1M30S', 90_000],
      ['500ms', 500],
    ];
    for (const [text, ms] of cases) {
      const f = file('d.yml', `mcp:\n  client:\n    default-timeout: ${text}\n`);
      expect(load({ configFiles: f }).config.mcp.client.defaultTimeout).toBe(ms);
    }
  });

  it('parses sizes such as 100MB and 3GB', () => {
    const f = file(
      's.yml',
      'logging:\n  logback:\n    rollingpolicy:\n      max-file-size: 100MB\n      total-size-cap: 3GB\n',
    );
    const { rollingpolicy } = load({ configFiles: f }).config.logging.logback;
    expect(rollingpolicy.maxFileSize).toBe(100 * 1024 * 1024);
    expect(rollingpolicy.totalSizeCap).toBe(3 * 1024 ** 3);
  });

  it('accepts streamable-http as the http type and cwd as the working directory', () => {
    const f = file(
      's.yml',
      'mcp:\n  servers:\n    a:\n      type: streamable-http\n      url: http://x/mcp\n    b:\n      type: stdio\n      command: node\n      cwd: /tmp\n',
    );
    const { config, warnings } = load({ configFiles: f });
    expect(config.mcp.servers.a?.type).toBe('http');
    expect(config.mcp.servers.b?.workingDirectory).toBe('/tmp');
    expect(warnings).toEqual([]);
  });
});

describe('loadConfig: errors', () => {
  const issuesFor = (yaml: string, env: NodeJS.ProcessEnv = {}) =>
    loadError({ configFiles: file('bad.yml', yaml), env }).issues;

  it('names the full kebab-case path and the reason of a wrong type', () => {
    expect(issuesFor('mcp:\n  client:\n    default-timeout: soon\n')).toEqual([
      { path: 'mcp.client.default-timeout', message: 'expected a duration such as 15000 (ms), "60s", "5m" or "PT1M"' },
    ]);
    expect(issuesFor('server:\n  port: abc\n')).toEqual([{ path: 'server.port', message: 'expected a whole number' }]);
    expect(issuesFor('server:\n  port: 70000\n')[0]?.path).toBe('server.port');
    expect(issuesFor('{}\n', { SERVER_PORT: 'abc' })).toEqual([
      { path: 'server.port', message: 'expected a whole number' },
    ]);
    expect(issuesFor('spring:\n  datasource:\n    hikari:\n      maximumPoolSize: lots\n')[0]?.path).toBe(
      'spring.datasource.hikari.maximum-pool-size',
    );
  });

  it('refuses an unknown server type at mcp.servers.<id>.type', () => {
    expect(issuesFor('mcp:\n  servers:\n    foo:\n      type: grpc\n')).toEqual([
      { path: 'mcp.servers.foo.type', message: 'expected one of stdio, http, sse' },
    ]);
  });

  it('refuses a stdio server without a command and an http server without a url', () => {
    expect(issuesFor('mcp:\n  servers:\n    foo:\n      type: stdio\n')).toEqual([
      { path: 'mcp.servers.foo.command', message: 'a stdio server needs a command' },
    ]);
    expect(issuesFor('mcp:\n  servers:\n    web:\n      type: sse\n')).toEqual([
      { path: 'mcp.servers.web.url', message: 'an sse server needs a url' },
    ]);
  });

  it('says why a server id is refused', () => {
    const [issue] = issuesFor('mcp:\n  servers:\n    "bad id!":\n      type: stdio\n      command: x\n');
    expect(issue?.path).toBe('mcp.servers.bad id!');
    expect(issue?.message).toContain('a server id is 1-64 letters');
  });

  it('reports every problem at once', () => {
    const issues = issuesFor(
      'server:\n  port: abc\nmanagement:\n  server:\n    port: -1\nmcp:\n  servers:\n    x:\n      type: nope\n',
    );
    expect(issues.map((i) => i.path).sort()).toEqual(['management.server.port', 'mcp.servers.x.type', 'server.port']);
  });

  it('refuses YAML syntax errors with the file and line', () => {
    // A mapping written as the value of a one-line mapping (line 4, column 12).
    const f = file('broken-syntax.yml', 'server:\n  port: 8080\n\n  address: a: b\n');
    const error = loadError({ configFiles: f });
    expect(error.issues[0]?.path).toBe(`(yaml ${f}:4:12)`);
    expect(error.issues[0]?.message).toMatch(/line 4/);
    expect(error.sources).toEqual([f]);
  });

  it('refuses duplicate keys with the file and line', () => {
    const f = path.join(FIXTURE_DIR, 'duplicate-keys.yml');
    const [issue] = loadError({ configFiles: f }).issues;
    expect(issue?.path).toBe(`(yaml ${f}:4:3)`);
    expect(issue?.message).toMatch(/unique/i);
  });

  it('does not quote the offending source line, which may hold a secret', () => {
    const [issue] = issuesFor('spring:\n  datasource:\n    password: "hunter2\n');
    expect(JSON.stringify(issue)).not.toContain('hunter2');
  });

  it('refuses a file that is not a mapping', () => {
    expect(issuesFor('- a\n- b\n')[0]?.message).toContain('must hold a mapping of keys');
  });

  it('lists the problems in the error message', () => {
    const error = loadError({ configFiles: file('bad.yml', 'server:\n  port: abc\n') });
    expect(error.message).toBe('Invalid configuration:\n  - server.port: expected a whole number');
  });
});

describe('loadConfig: warnings', () => {
  it('gives one warning listing every unknown key', () => {
    const f = file(
      'a.yml',
      'server:\n  prot: 1\nmcp:\n  clinet: {}\n  servers:\n    s:\n      type: stdio\n      command: x\n      commnad: y\ntoString: 1\n',
    );
    const { warnings } = load({ configFiles: f });
    expect(warnings).toEqual([
      'Unknown configuration keys ignored: server.prot, mcp.clinet, mcp.servers.s.commnad, toString',
    ]);
  });

  it('warns about ignored keys only where the user would assume an effect', () => {
    const f = file('a.yml', 'logging:\n  config: classpath:logback.xml\nspring:\n  jpa:\n    show-sql: true\n');
    const { warnings } = load({ configFiles: f });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/^logging\.config is set but has no effect here/);
  });
});

describe('loadConfig: result', () => {
  it('is deeply frozen', () => {
    const f = file('a.yml', 'mcp:\n  servers:\n    s:\n      type: stdio\n      command: node\n      args: [a]\n');
    const { config } = load({ configFiles: f });
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.mcp.client.retry)).toBe(true);
    expect(Object.isFrozen(config.mcp.servers.s?.args)).toBe(true);
    expect(() => {
      (config.server as { port: number }).port = 1;
    }).toThrow(TypeError);
  });
});

describe('loadConfig: the deployment guide', () => {
  const guideFiles = readdirSync(GUIDE_DIR).filter((f) => f.endsWith('.yml'));

  it.each(guideFiles)('validates %s', (name) => {
    const loaded = load({ configFiles: path.join(GUIDE_DIR, name), env: { JWT_SECRET: 'x'.repeat(40) } });
    expect(loaded.warnings.filter((w) => w.startsWith('Unknown'))).toEqual([]);
  });

  it('validates the ConfigMap application.yml and servers.yml together', () => {
    const files = ['configmap-application.yml', 'configmap-servers.yml'].map((n) => path.join(GUIDE_DIR, n)).join(',');
    const { config, profiles, warnings } = load({
      configFiles: files,
      env: { POSTGRES_PASSWORD: 'pg', REDIS_PASSWORD: 'rd', MONGODB_PROD_URI: 'mongodb://prod' },
    });
    expect(profiles).toEqual(['kubernetes', 'production']);
    expect(config.spring.datasource.url).toBe('jdbc:postgresql://postgres-service:5432/globalmcp');
    expect(config.spring.data.redis).toMatchObject({ host: 'redis-service', port: 6379, password: 'rd' });
    expect(config.mcp.servers['mongodb-production']).toMatchObject({
      type: 'stdio',
      command: 'java',
      args: ['-Xmx512m', '-jar', '/opt/servers/mongo-mcp-server.jar'],
      timeout: 15_000,
      enabled: true,
      environment: { MONGODB_URI: 'mongodb://prod', LOG_LEVEL: 'INFO' },
    });
    expect(warnings).toEqual([]);
  });

  it('reads the production profile values', () => {
    const { config } = load({
      configFiles: path.join(GUIDE_DIR, 'application-production.yml'),
      env: { JWT_SECRET: 'x'.repeat(40) },
    });
    expect(config.mcp.client).toMatchObject({ defaultTimeout: 15_000, maxConcurrentConnections: 100 });
    expect(config.mcp.client.pool).toEqual({ coreSize: 20, maxSize: 200, keepAlive: 60_000, queueCapacity: 10_000 });
    expect(config.mcp.client.retry).toMatchObject({ maxAttempts: 3, backoffMultiplier: 2 });
    expect(config.logging.logback.rollingpolicy).toMatchObject({
      maxFileSize: 100 * 1024 ** 2,
      maxHistory: 30,
      totalSizeCap: 3 * 1024 ** 3,
    });
    expect(config.spring.datasource.hikari).toMatchObject({
      maximumPoolSize: 20,
      minimumIdle: 5,
      idleTimeout: 300_000,
    });
    expect(config.mcp.security.jwt.secret).toBe('x'.repeat(40));
  });

  it('warns about the Vault and ddl-auto settings that have no effect here', () => {
    expect(load({ configFiles: path.join(GUIDE_DIR, 'vault-config.yml') }).warnings).toEqual([
      expect.stringContaining('spring.cloud.vault.enabled=true has no effect'),
    ]);
    expect(load({ configFiles: path.join(GUIDE_DIR, 'application-development.yml') }).warnings).toEqual([
      expect.stringContaining('spring.jpa.hibernate.ddl-auto=create-drop has no effect'),
    ]);
    expect(load({ configFiles: path.join(GUIDE_DIR, 'hikari.yml') }).warnings).toEqual([]);
  });
});
