import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { MAIN, requireBuild } from '../support/paths';

const ROOT = path.resolve(__dirname, '..', '..');
const GUIDE = path.join(ROOT, 'test', 'fixtures', 'guide');

function run(args: string[], env: Record<string, string> = {}) {
  requireBuild();
  const result = spawnSync(process.execPath, [MAIN, ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { code: result.status, out: `${result.stdout}${result.stderr}` };
}

describe('the command line (built gateway)', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'globalmcp-cli-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  // ssl.yml names a key store (classpath:globalmcp.p12) that the fixtures do not hold: checked below.
  it.each(readdirSync(GUIDE).filter((f) => f.endsWith('.yml') && f !== 'ssl.yml'))(
    '--validate-config accepts the guide block %s',
    (file) => {
      const { code, out } = run(['--validate-config', '--config', path.join(GUIDE, file)]);
      expect(out).toContain('configuration is valid');
      expect(code).toBe(0);
    },
  );

  it('--validate-config names the missing key store of the guide block ssl.yml, as boot would refuse it', () => {
    const { code, out } = run(['--validate-config', '--config', path.join(GUIDE, 'ssl.yml')]);
    expect(out).toMatch(/ERROR server\.ssl\.key-store: cannot read .*globalmcp\.p12/);
    expect(code).toBe(1);
  });

  it('--validate-config accepts the ConfigMap pair application.yml,servers.yml and the default config', () => {
    const pair = `${path.join(GUIDE, 'configmap-application.yml')},${path.join(GUIDE, 'configmap-servers.yml')}`;
    expect(run(['--validate-config', '--config', pair]).code).toBe(0);
    expect(run(['--validate-config']).code).toBe(0);
  });

  it('--validate-config refuses a broken file naming the key, and starts nothing', () => {
    const broken = path.join(dir, 'broken.yml');
    writeFileSync(broken, 'server:\n  port: eighty\nmcp:\n  servers:\n    bad:\n      type: carrier-pigeon\n');
    const { code, out } = run(['--validate-config', '--config', broken]);
    expect(code).toBe(1);
    expect(out).toContain('server.port');
    expect(out).toContain('mcp.servers.bad.type');
    expect(out).not.toContain('ready');
  });

  it('never prints secrets in the validation summary', () => {
    const file = path.join(dir, 'secrets.yml');
    writeFileSync(
      file,
      'spring:\n  datasource:\n    url: postgres://app:pg-pass-123@db.internal/globalmcp\nmcp:\n  security:\n    jwt:\n      secret: ${JWT_SECRET}\n',
    );
    const { code, out } = run(['--validate-config', '--config', file], {
      JWT_SECRET: 'jwt-secret-that-is-long-enough-0123456789',
    });
    expect(code).toBe(0);
    expect(out).not.toContain('pg-pass-123');
    expect(out).not.toContain('jwt-secret-that-is-long-enough');
  });

  it('refuses to start with an invalid configuration, exit code 1 and the key path', () => {
    const { code, out } = run([], { SERVER_PORT: 'not-a-port' });
    expect(code).toBe(1);
    expect(out).toContain('server.port');
  });

  it('rejects unknown arguments with usage', () => {
    const { code, out } = run(['--frobnicate']);
    expect(code).toBe(2);
    expect(out).toContain('Usage');
  });
});
