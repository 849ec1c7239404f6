import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DEFAULT_APP_ROOT } from 'src/config/config.loader';
import { runValidateConfig } from 'src/config/validate-config';

const GUIDE_DIR = path.join(DEFAULT_APP_ROOT, 'test', 'fixtures', 'guide');

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'globalmcp-validate-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function run(configFiles: string | undefined, env: NodeJS.ProcessEnv = {}) {
  const lines: string[] = [];
  const code = runValidateConfig({ configFiles, env, appRoot: dir, write: (line) => lines.push(line) });
  return { code, lines, text: lines.join('\n') };
}

function file(name: string, text: string) {
  const full = path.join(dir, name);
  writeFileSync(full, text);
  return full;
}

describe('runValidateConfig', () => {
  it('prints a summary and returns 0 for the guide ConfigMap files, without any secret', () => {
    const files = ['configmap-application.yml', 'configmap-servers.yml'].map((n) => path.join(GUIDE_DIR, n)).join(',');
    const { code, lines, text } = run(files, {
      POSTGRES_PASSWORD: 'pg-secret',
      REDIS_PASSWORD: 'redis-secret',
      MONGODB_PROD_URI: 'mongodb://admin:mongo-secret@mongo/prod',
      JWT_SECRET: 'jwt-secret-jwt-secret-jwt-secret-123',
      SERVER_PORT: '8088',
    });
    expect(code).toBe(0);
    expect(lines).toContain(`files: ${files.split(',').join(', ')}`);
    expect(lines).toContain('profiles: kubernetes, production');
    expect(lines).toContain('environment: SERVER_PORT, JWT_SECRET');
    expect(lines).toContain('ports: api 8088 (http), management 8081, prometheus 9090');
    expect(lines).toContain('database: jdbc:postgresql://postgres-service:5432/globalmcp (user globalmcp), pool 10');
    expect(lines).toContain('redis: redis-service:6379/0 (password ***)');
    expect(lines).toContain('servers: 1');
    expect(lines).toContain(
      '  mongodb-production: stdio, enabled, java -Xmx512m -jar /opt/servers/mongo-mcp-server.jar, environment MONGODB_URI=*** LOG_LEVEL=***',
    );
    expect(lines).toContain(
      'secrets: spring.datasource.password=***, spring.data.redis.password=***, mcp.security.jwt.secret=***',
    );
    expect(lines.at(-1)).toBe('configuration is valid');
    for (const secret of ['pg-secret', 'redis-secret', 'mongo-secret', 'jwt-secret'])
      expect(text).not.toContain(secret);
  });

  it('summarises the built-in defaults', () => {
    const { code, lines } = run(undefined);
    expect(code).toBe(0);
    expect(lines).toEqual([
      'files: none (built-in defaults)',
      'profiles: none',
      'ports: api 8080 (http), management 8081, prometheus 9090',
      'database: embedded PostgreSQL under ./data/postgres, pool 10',
      'redis: none (in-memory cache)',
      'servers: none',
      'secrets: none set',
      'configuration is valid',
    ]);
  });

  it('masks passwords in database and Redis URLs', () => {
    const { code, text } = run(undefined, {
      DATABASE_URL: 'postgres://app:db-pw@db:5432/x',
      REDIS_URL: 'redis://:redis-pw@cache:6379/2',
    });
    expect(code).toBe(0);
    expect(text).toContain('database: postgres://app:***@db:5432/x, pool 10');
    expect(text).toContain('redis: redis://:***@cache:6379/2');
    expect(text).not.toMatch(/db-pw|redis-pw/);
  });

  it('prints warnings as WARN lines', () => {
    const { code, lines } = run(path.join(GUIDE_DIR, 'vault-config.yml'));
    expect(code).toBe(0);
    expect(lines.filter((l) => l.startsWith('WARN '))).toEqual([
      expect.stringContaining('spring.cloud.vault.enabled=true has no effect'),
    ]);
  });

  it('prints every problem with its key path and returns 1', () => {
    const f = file(
      'bad.yml',
      'server:\n  port: abc\nmcp:\n  servers:\n    foo:\n      type: grpc\n    bar:\n      type: stdio\n',
    );
    const { code, lines } = run(f);
    expect(code).toBe(1);
    expect(lines.filter((l) => l.startsWith('ERROR ')).sort()).toEqual([
      'ERROR mcp.servers.bar.command: a stdio server needs a command',
      'ERROR mcp.servers.foo.type: expected one of stdio, http, sse',
      'ERROR server.port: expected a whole number',
    ]);
    expect(lines.at(-1)).toBe('configuration is invalid: 3 problems');
  });

  it('refuses a missing file and a YAML error', () => {
    expect(run(path.join(dir, 'nope.yml')).lines[0]).toMatch(/^ERROR \(config location\): config file not found/);
    const f = file('dup.yml', 'server:\n  port: 1\n  port: 2\n');
    const { code, lines } = run(f);
    expect(code).toBe(1);
    expect(lines).toContain(`files: ${f}`);
    expect(lines[1]).toMatch(new RegExp(`^ERROR \\(yaml ${f}:3:3\\): Map keys must be unique`));
  });

  it.each([
    'application-production.yml',
    'application-development.yml',
    'oauth2.yml',
    'cache.yml',
    'hikari.yml',
    'debug-logging.yml',
  ])('accepts the guide file %s', (name) => {
    const { code, text } = run(path.join(GUIDE_DIR, name), {
      JWT_SECRET: 'top-secret-value-0123456789abcdef',
      KEYSTORE_PASSWORD: 'ks-secret',
    });
    expect(code).toBe(0);
    expect(text).not.toMatch(/top-secret|ks-secret/);
  });

  it('accepts the guide file ssl.yml next to its key store, and names the key store when it is missing', () => {
    const yml = path.join(dir, 'ssl.yml');
    copyFileSync(path.join(GUIDE_DIR, 'ssl.yml'), yml);
    const env = { KEYSTORE_PASSWORD: 'ks-secret' };
    expect(run(yml, env).lines).toContainEqual(
      expect.stringMatching(/^ERROR server\.ssl\.key-store: cannot read .*globalmcp\.p12/),
    );
    const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
    openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'k.pem', '-out', 'c.pem', '-days', '1', '-subj', '/CN=t'); // prettier-ignore
    openssl('pkcs12', '-export', '-in', 'c.pem', '-inkey', 'k.pem', '-out', 'globalmcp.p12', '-passout', 'pass:ks-secret'); // prettier-ignore
    const { code, lines, text } = run(yml, env);
    expect(code).toBe(0);
    expect(lines).toContain('ports: api 8443 (https), management 8081, prometheus 9090');
    expect(text).not.toContain('ks-secret');
    expect(run(yml, { KEYSTORE_PASSWORD: 'wrong' }).lines).toContainEqual(
      expect.stringMatching(
        /^ERROR server\.ssl: cannot open the TLS key material; check server\.ssl\.key-store-password/,
      ),
    );
  });

  describe('what boot would refuse beyond the schema', () => {
    const SHORT = 'short-secret-19bytes';
    const errors = (lines: string[]) => lines.filter((l) => l.startsWith('ERROR '));

    it('reports a JWT secret and an admin API key under 32 bytes, without their values', () => {
      const { code, lines, text } = run(undefined, { JWT_SECRET: SHORT, GLOBALMCP_ADMIN_API_KEY: 'admin-short' });
      expect(code).toBe(1);
      expect(errors(lines)).toEqual([
        'ERROR mcp.security.jwt.secret: 20 bytes; HS256 needs at least 32 (e.g. `openssl rand -base64 48`)',
        'ERROR mcp.security.admin-api-key: 11 characters; use at least 32 random characters (e.g. `openssl rand -base64 32`)',
      ]);
      expect(lines.at(-1)).toBe('configuration is invalid: 2 problems');
      expect(text).not.toContain(SHORT);
      expect(text).not.toContain('admin-short');
    });

    it('only warns about short secrets with the development profile', () => {
      const { code, lines } = run(undefined, { JWT_SECRET: SHORT, SPRING_PROFILES_ACTIVE: 'development' });
      expect(code).toBe(0);
      expect(lines).toContain(
        'WARN mcp.security.jwt.secret: 20 bytes; HS256 needs at least 32 (e.g. `openssl rand -base64 48`), accepted only because of the development profile',
      );
    });

    it('accepts a 32-byte secret, and counts bytes, not characters', () => {
      expect(run(undefined, { JWT_SECRET: 'x'.repeat(32) }).code).toBe(0);
      expect(run(undefined, { JWT_SECRET: 'é'.repeat(16) }).code).toBe(0); // 16 characters, 32 bytes
    });

    it('reports an encryption key that is not base64 of 32 bytes', () => {
      const short = run(undefined, { GLOBALMCP_ENCRYPTION_KEY: Buffer.alloc(16, 1).toString('base64') });
      expect(errors(short.lines)).toEqual([
        'ERROR mcp.security.encryption-key: must be base64 of 32 bytes (`openssl rand -base64 32`), got 16 bytes',
      ]);
      const garbage = run(undefined, { GLOBALMCP_ENCRYPTION_KEY: 'not base64 at all!' });
      expect(errors(garbage.lines)).toEqual([
        'ERROR mcp.security.encryption-key: must be base64 of 32 bytes (`openssl rand -base64 32`), got characters outside base64',
      ]);
      expect(run(undefined, { GLOBALMCP_ENCRYPTION_KEY: Buffer.alloc(32, 7).toString('base64') }).code).toBe(0);
    });

    it('reports TLS key material and trust stores boot could not open, for the API and management ports', () => {
      const yml = file(
        'tls.yml',
        'server:\n  ssl:\n    enabled: true\n    key-store: missing.p12\n    key-store-password: ks-secret\n' +
          'management:\n  server:\n    ssl:\n      enabled: true\n',
      );
      const { code, lines, text } = run(yml);
      expect(code).toBe(1);
      expect(errors(lines)).toEqual([
        expect.stringMatching(/^ERROR server\.ssl\.key-store: cannot read .*missing\.p12/),
        'ERROR management.server.ssl.enabled is true but neither management.server.ssl.key-store nor management.server.ssl.certificate + certificate-private-key is set',
      ]);
      expect(text).not.toContain('ks-secret');
    });

    it('reports client-auth without CAs', () => {
      const cert = file('cert.pem', '');
      const yml = file(
        'mtls.yml',
        `server:\n  ssl:\n    enabled: true\n    certificate: ${cert}\n    certificate-private-key: ${cert}\n    client-auth: need\n`,
      );
      // The empty PEM files are refused first, naming the key material.
      expect(errors(run(yml).lines)[0]).toMatch(/^ERROR server\.ssl: cannot open the TLS key material/);
    });
    it("refuses the console's OAuth2 client without an issuer, and bad client ids or scopes", () => {
      const lonely = file('console.yml', 'mcp:\n  console:\n    oauth2:\n      client-id: globalmcp-console\n');
      expect(errors(run(lonely).lines)).toEqual([
        'ERROR mcp.console.oauth2.client-id: needs spring.security.oauth2.resourceserver.jwt.issuer-uri: the console signs in at that issuer',
      ]);
      const issuer =
        'spring:\n  security:\n    oauth2:\n      resourceserver:\n        jwt:\n          issuer-uri: https://id.example.com\n';
      const good = file(
        'good.yml',
        `${issuer}mcp:\n  console:\n    oauth2:\n      client-id: globalmcp-console\n      scopes: openid,mcp:read\n`,
      );
      expect(run(good).code).toBe(0);
      const spaced = file(
        'spaced.yml',
        `${issuer}mcp:\n  console:\n    oauth2:\n      client-id: "two words"\n      scopes: ['mcp"read']\n`,
      );
      const refused = run(spaced);
      expect(refused.code).toBe(1);
      expect(refused.text).toMatch(/mcp\.console\.oauth2\.client-id/);
      expect(refused.text).toMatch(/mcp\.console\.oauth2\.scopes/);
    });
  });
});
