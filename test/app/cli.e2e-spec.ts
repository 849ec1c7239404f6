import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { MAIN, requireBuild } from '../support/paths';
import { freePort } from '../support/ports';
import { descendantsOf, isAlive } from '../support/processes';
import { createEmptyDatabase, type TestDatabase } from '../support/test-database';

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

interface Start {
  output: string;
  ports: { api: number; management: number };
}

/**
 * Starts the built gateway as `npm start` would (no GLOBALMCP_ADMIN_API_KEY), waits for its ready line, stops it with
 * SIGTERM and returns what it printed. Everything it started is gone afterwards (checked by PID).
 */
async function startAndStop(dir: string, databaseUrl: string): Promise<Start> {
  requireBuild();
  const ports = { api: await freePort(), management: await freePort() };
  const child = spawn(process.execPath, [MAIN], {
    cwd: dir,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      GLOBALMCP_CONFIG: path.join(dir, 'application.yml'),
      GLOBALMCP_DATA_DIR: path.join(dir, 'data'),
      DATABASE_URL: databaseUrl,
      SERVER_ADDRESS: '127.0.0.1',
      SERVER_PORT: String(ports.api),
      MANAGEMENT_SERVER_PORT: String(ports.management),
      MANAGEMENT_PROMETHEUS_PORT: '0',
      MCP_SHUTDOWN_DRAIN_DELAY: '0',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const collect = (data: Buffer) => (output += data.toString());
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const started = Date.now();
  while (!/ ready: /.test(output)) {
    if (child.exitCode !== null) throw new Error(`the gateway exited (${child.exitCode}):\n${output}`);
    if (Date.now() - started > 90_000) {
      child.kill('SIGKILL');
      throw new Error(`not ready in 90 s:\n${output.slice(-4000)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const tree = descendantsOf(child.pid!);
  child.kill('SIGTERM');
  await exited;
  for (const pid of tree) expect({ pid, alive: isAlive(pid) }).toEqual({ pid, alive: false });
  return { output, ports };
}

/** The JSON log lines of a start (the generated-key box is plain text on stdout). */
const logRecords = (output: string) =>
  output
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as { time: string; level: string; context?: string; msg: string });

describe('a start as a person sees it (built gateway, an empty database)', () => {
  let dir: string;
  let db: TestDatabase;
  let first: Start;
  let second: Start;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'globalmcp-start-'));
    writeFileSync(path.join(dir, 'application.yml'), '{}\n');
    db = await createEmptyDatabase('cli_start');
    first = await startAndStop(dir, db.url);
    second = await startAndStop(dir, db.url);
  }, 240_000);

  afterAll(async () => {
    await db?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('stamps each boot line with its own time (what the start spent its time on shows)', () => {
    const records = logRecords(first.output);
    const at = (context: string, text: string) => {
      const record = records.find((r) => r.context === context && r.msg.includes(text));
      if (!record) throw new Error(`no ${context} line with "${text}" in:\n${first.output}`);
      return Date.parse(record.time);
    };
    // Nest logs both while it creates the application; the migrations ran in between.
    expect(at('NestFactory', 'Starting Nest application')).toBeLessThan(
      at('InstanceLoader', 'TypeOrmCoreModule dependencies initialized'),
    );
    expect(at('Database', 'Applied migration')).toBeLessThanOrEqual(at('Bootstrap', 'ready'));
    const times = records.map((r) => Date.parse(r.time));
    expect(times).toEqual([...times].sort((a, b) => a - b));
  });

  it("writes Nest's route-mapping lines at DEBUG, so they are not in a default start", () => {
    const records = logRecords(first.output);
    expect(records.filter((r) => r.context === 'RouterExplorer' || r.context === 'RoutesResolver')).toEqual([]);
    expect(first.output).not.toContain('Mapped {');
  });

  it('names the addresses the listeners are bound to in the ready line', () => {
    const ready = logRecords(first.output).find((r) => r.context === 'Bootstrap' && r.msg.includes(' ready: '));
    expect(ready?.msg).toMatch(
      new RegExp(
        `^globalmcp \\S+ ready: api http://127\\.0\\.0\\.1:${first.ports.api}, management http://127\\.0\\.0\\.1:${first.ports.management}$`,
      ),
    );
  });

  it('prints a generated admin key once, and a second start says where it came from and how to make a new one', () => {
    const key = /X-API-Key: (gmcp_\S+)/.exec(first.output)?.[1];
    expect(key).toBeDefined();
    expect(second.output).not.toContain(key!);
    expect(second.output).not.toContain('X-API-Key:');
    const line = logRecords(second.output).find((r) => r.context === 'ApiKeys')?.msg ?? '';
    expect(line).toContain(`Admin API key: none generated, one exists: ${key!.slice(0, 12)}`);
    expect(line).toContain('generated and printed once on stdout at the first start');
    expect(line).toContain('set GLOBALMCP_ADMIN_API_KEY to a new value');
    expect(line).toContain('DELETE /api/api-keys/{id}');
  });
});
