import { mkdtempSync, rmSync, statSync, chmodSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ADMIN_HEADERS, TEST_ADMIN_KEY } from '../support/auth';
import { spawnGateway, toolsListed, type SpawnedGateway } from '../support/child-gateway';
import { EVERYTHING } from '../support/paths';
import { createTestDatabase, type TestDatabase } from '../support/test-database';
import { globalmcp, type CliRun } from './cli';

const REQUEST_ID = /\(request id [0-9a-f-]{36}\)/;

describe('the globalmcp command line against a running gateway', () => {
  let db: TestDatabase;
  let gateway: SpawnedGateway;
  let home: string;
  /** Environment of a user with no profile yet, pointed at the test gateway. */
  let env: Record<string, string>;
  let admin: Record<string, string>;
  const run = (args: string[], extra: Record<string, string> = {}, stdin?: string) =>
    globalmcp(args, { ...env, ...extra }, stdin);
  const runAdmin = (args: string[], stdin?: string) => run(args, admin, stdin);
  const json = <T>(result: CliRun): T => JSON.parse(result.stdout) as T;

  beforeAll(async () => {
    db = await createTestDatabase('cli_commands');
    gateway = await spawnGateway({
      databaseUrl: db.url,
      yaml:
        'mcp:\n  security:\n    stdio:\n      allowed-commands: [node]\n  servers:\n' +
        `    everything:\n      type: stdio\n      command: node\n      args: ["${EVERYTHING}", stdio]\n`,
      readyWhen: toolsListed('everything', ADMIN_HEADERS),
    });
    home = mkdtempSync(path.join(tmpdir(), 'globalmcp-cli-home-'));
    env = { HOME: home, GLOBALMCP_URL: gateway.api };
    admin = { GLOBALMCP_API_KEY: TEST_ADMIN_KEY };
  }, 120_000);

  afterAll(async () => {
    await gateway?.stop();
    await db?.drop();
    if (home) rmSync(home, { recursive: true, force: true });
  });

  describe('usage', () => {
    it('prints help with the exit codes and exits 0', async () => {
      const result = await run(['--help']);
      expect(result.code).toBe(0);
      expect(result.stdout).toContain('servers');
      expect(result.stdout).toContain('6 gateway unreachable');
    });

    it('exits 1 on an unknown command or option', async () => {
      expect((await run(['frobnicate'])).code).toBe(1);
      const bad = await runAdmin(['servers', 'list', '--bogus']);
      expect(bad.code).toBe(1);
      expect(bad.stderr).toContain("unknown option '--bogus'");
    });
  });

  describe('credentials', () => {
    it('exits 2 with the envelope (code, message, request id) without a key, and hints where a key comes from', async () => {
      const result = await run(['servers', 'list']);
      expect(result.code).toBe(2);
      expect(result.stderr).toContain('AUTHENTICATION_FAILED');
      expect(result.stderr).toMatch(REQUEST_ID);
      expect(result.stderr).toContain('globalmcp login');
    });

    it('exits 2 with a wrong key, and prints the envelope as JSON with --output json', async () => {
      const result = await run(['-o', 'json', 'servers', 'list'], { GLOBALMCP_API_KEY: 'gmcp_wrong-key-0123456789' });
      expect(result.code).toBe(2);
      const { error, exit_code } = JSON.parse(result.stderr) as {
        error: { code: string; request_id: string };
        exit_code: number;
      };
      expect(error.code).toBe('AUTHENTICATION_FAILED');
      expect(error.request_id).toMatch(/^[0-9a-f-]{36}$/);
      expect(exit_code).toBe(2);
    });

    it('exits 6 when nothing answers at --url', async () => {
      const result = await runAdmin(['--url', 'http://127.0.0.1:1', 'servers', 'list']);
      expect(result.code).toBe(6);
      expect(result.stderr).toContain('cannot reach the gateway at http://127.0.0.1:1');
    });

    it('login checks the key, writes the profile with mode 0600, and later commands use it; a looser mode is refused', async () => {
      const wrong = await run(['login', '--url', gateway.api, '--api-key', 'gmcp_wrong-key-0123456789']);
      expect(wrong.code).toBe(2);
      const profile = path.join(home, '.config', 'globalmcp', 'profile.json');
      const login = await run(['login', '--url', gateway.api, '--api-key', TEST_ADMIN_KEY], { GLOBALMCP_URL: '' });
      expect(login.code).toBe(0);
      expect(login.stdout).toContain(`logged in to ${gateway.api}`);
      expect(statSync(profile).mode & 0o777).toBe(0o600);
      // No --url, no key in the environment: both from the profile.
      const listed = await globalmcp(['servers', 'list'], { HOME: home });
      expect(listed.code).toBe(0);
      expect(listed.stdout).toContain('everything');
      chmodSync(profile, 0o644);
      const refused = await globalmcp(['servers', 'list'], { HOME: home });
      expect(refused.code).toBe(2);
      expect(refused.stderr).toContain(`chmod 600 ${profile}`);
      rmSync(profile);
    });
  });

  describe('servers', () => {
    it('lists servers as a table and as JSON', async () => {
      const table = await runAdmin(['servers', 'list']);
      expect(table.code).toBe(0);
      expect(table.stdout.split('\n')[0]).toMatch(/^ID\s+TYPE\s+STATUS\s+HEALTH\s+TOOLS\s+SOURCE\s+NAME$/);
      expect(table.stdout).toMatch(/everything\s+stdio\s+active\s+\S+\s+\d+\s+config/);
      const data = json<{ servers: { id: string; status: string }[] }>(
        await runAdmin(['-o', 'json', 'servers', 'list']),
      );
      expect(data.servers).toEqual([expect.objectContaining({ id: 'everything', status: 'active' })]);
    });

    it('gets one server, and exits 3 with the message and request id for an unknown one', async () => {
      const one = await runAdmin(['servers', 'get', 'everything']);
      expect(one.code).toBe(0);
      expect(one.stdout).toMatch(/^status:\s+active$/m);
      expect(one.stdout).toMatch(/^source:\s+config$/m);
      const unknown = await runAdmin(['servers', 'get', 'nope']);
      expect(unknown.code).toBe(3);
      expect(unknown.stderr).toContain("RESOURCE_NOT_FOUND: Server 'nope' not found");
      expect(unknown.stderr).toMatch(REQUEST_ID);
    });

    it('adds, checks, restarts and removes a server; a duplicate is exit 4, a configuration server is read-only (4)', async () => {
      const add = [
        'servers',
        'add',
        'extra',
        '--command',
        'node',
        '--arg',
        EVERYTHING,
        '--arg',
        'stdio',
        '--name',
        'Extra',
      ];
      const added = await runAdmin(add);
      expect(added.stderr).toBe('');
      expect(added.code).toBe(0);
      expect(added.stdout).toContain('registered extra');
      expect((await runAdmin(add)).code).toBe(4);
      const health = await runAdmin(['servers', 'health', 'extra']);
      expect(health.code).toBe(0);
      expect(health.stdout).toContain('extra: UP');
      const restarted = await runAdmin(['servers', 'restart', 'extra']);
      expect(restarted.code).toBe(0);
      expect(restarted.stdout).toContain('restarted extra');
      const removed = await runAdmin(['-o', 'json', 'servers', 'remove', 'extra', '--force']);
      expect(removed.code).toBe(0);
      expect(json<{ id: string }>(removed).id).toBe('extra');
      expect((await runAdmin(['servers', 'remove', 'extra'])).code).toBe(3);
      expect((await runAdmin(['servers', 'remove', 'everything'])).code).toBe(4);
      expect((await runAdmin(['servers', 'health', 'nope'])).code).toBe(3);
    });

    it('refuses an add without a command or URL as usage (1), before any request', async () => {
      const result = await runAdmin(['servers', 'add', 'x']);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain('--command');
    });
  });

  describe('tools', () => {
    it('lists and describes tools; an unknown tool is exit 3', async () => {
      const listed = await runAdmin(['tools', 'list', '--server', 'everything']);
      expect(listed.code).toBe(0);
      expect(listed.stdout).toMatch(/^everything\s+echo\s+/m);
      const echo = await runAdmin(['tools', 'get', 'everything', 'echo']);
      expect(echo.code).toBe(0);
      expect(echo.stdout).toContain('input schema:');
      expect(echo.stdout).toContain('"message"');
      expect((await runAdmin(['tools', 'get', 'everything', 'no-such-tool'])).code).toBe(3);
    });

    it('calls a tool with typed key=value arguments (numbers stay numbers)', async () => {
      const echo = await runAdmin(['tools', 'call', 'everything', 'echo', 'message=hello cli']);
      expect(echo.code).toBe(0);
      expect(echo.stdout).toContain('Echo: hello cli');
      const sum = await runAdmin(['-o', 'json', 'tools', 'call', 'everything', 'get-sum', 'a=2', 'b=40']);
      expect(sum.code).toBe(0);
      const data = json<{ status: string; result: { content: { text: string }[] } }>(sum);
      expect(data.status).toBe('completed');
      expect(data.result.content[0]!.text).toContain('42');
    });

    it('calls a tool with arguments from a JSON file or stdin', async () => {
      const file = path.join(home, 'args.json');
      writeFileSync(file, JSON.stringify({ a: 1, b: 2 }));
      const fromFile = await runAdmin(['tools', 'call', 'everything', 'get-sum', '--json', file]);
      expect(fromFile.code).toBe(0);
      expect(fromFile.stdout).toContain('3');
      const fromStdin = await runAdmin(['tools', 'call', 'everything', 'echo', '--json', '-'], '{"message":"piped"}');
      expect(fromStdin.stdout).toContain('Echo: piped');
    });

    it('exits 1 on malformed key=value, bad JSON or both argument forms; the gateway is not called', async () => {
      const missing = await runAdmin(['tools', 'call', 'everything', 'echo', 'message']);
      expect(missing.code).toBe(1);
      expect(missing.stderr).toContain('expected key=value, got "message"');
      const badJson = await runAdmin(['tools', 'call', 'everything', 'echo', 'message={oops']);
      expect(badJson.code).toBe(1);
      expect(badJson.stderr).toContain('not valid JSON');
      expect((await runAdmin(['tools', 'call', 'everything', 'echo', 'a=1', '--json', '-'])).code).toBe(1);
      expect((await runAdmin(['tools', 'call', 'everything', 'echo', '--json', '/nonexistent.json'])).code).toBe(1);
    });

    it('exits 1 with the validation envelope when the gateway refuses the arguments, 3 for an unknown server', async () => {
      const wrongType = await runAdmin(['tools', 'call', 'everything', 'get-sum', 'a=two', 'b=1']);
      expect(wrongType.code).toBe(1);
      expect(wrongType.stderr).toContain('INVALID_PARAMETERS');
      expect(wrongType.stderr).toMatch(REQUEST_ID);
      const unknown = await runAdmin(['tools', 'call', 'nope', 'echo', 'message=x']);
      expect(unknown.code).toBe(3);
    });
  });

  describe('jobs and executions', () => {
    it('starts a job and follows it to the end with plain progress lines when stderr is not a terminal', async () => {
      const started = await runAdmin(['tools', 'call', 'everything', 'echo', 'message=before']); // a record to list later
      expect(started.code).toBe(0);
      const result = await runAdmin([
        'jobs',
        'start',
        'everything',
        'trigger-long-running-operation',
        'duration=1',
        'steps=3',
        '--follow',
      ]);
      expect(result.code).toBe(0);
      expect(result.stdout).toMatch(/^started [0-9a-f-]{36}$/m);
      expect(result.stderr).toContain('progress 1/3');
      expect(result.stderr).toContain('progress 3/3');
      expect(result.stderr).not.toContain('\r');
      expect(result.stdout).toMatch(/: completed in \d+ ms/);
    });

    it('starts a job, cancels it, and follow then exits 5; an unknown job is exit 3', async () => {
      const started = await runAdmin([
        'jobs',
        'start',
        'everything',
        'trigger-long-running-operation',
        'duration=30',
        'steps=30',
      ]);
      expect(started.code).toBe(0);
      const id = started.stdout.trim();
      expect(id).toMatch(/^[0-9a-f-]{36}$/);
      const cancelled = await runAdmin(['jobs', 'cancel', id]);
      expect(cancelled.code).toBe(0);
      expect(cancelled.stdout).toContain(`${id}: cancelled`);
      const followed = await runAdmin(['jobs', 'follow', id]);
      expect(followed.code).toBe(5);
      expect(followed.stdout).toContain('cancelled');
      expect((await runAdmin(['jobs', 'cancel', '00000000-0000-4000-8000-000000000000'])).code).toBe(3);
      expect((await runAdmin(['jobs', 'follow', '00000000-0000-4000-8000-000000000000'])).code).toBe(3);
    });

    it('lists executions with filters and gets one; an unknown id is exit 3', async () => {
      const listed = await runAdmin(['-o', 'json', 'executions', 'list', '--server', 'everything', '--tool', 'echo']);
      expect(listed.code).toBe(0);
      const { executions } = json<{ executions: { execution_id: string; tool_name: string }[] }>(listed);
      expect(executions.length).toBeGreaterThan(0);
      expect(executions.every((e) => e.tool_name === 'echo')).toBe(true);
      const principal = (executions[0] as unknown as { principal: string }).principal;
      const mine = await runAdmin(['-o', 'json', 'executions', 'list', '--principal', principal]);
      const byCaller = json<{ executions: { principal: string }[] }>(mine).executions;
      expect(byCaller.length).toBeGreaterThan(0);
      expect(byCaller.every((e) => e.principal === principal)).toBe(true);
      const nobody = await runAdmin(['-o', 'json', 'executions', 'list', '--principal', 'key:nobody']);
      expect(json<{ executions: unknown[] }>(nobody).executions).toEqual([]);
      const table = await runAdmin(['executions', 'list', '--status', 'completed', '--limit', '5']);
      expect(table.stdout).toMatch(/^EXECUTION\s+SERVER\s+TOOL\s+STATUS/);
      const one = await runAdmin(['executions', 'get', executions[0]!.execution_id]);
      expect(one.code).toBe(0);
      expect(one.stdout).toMatch(/^tool:\s+echo$/m);
      expect(one.stdout).toMatch(/^arguments:\s+\{"message":/m);
      expect((await runAdmin(['executions', 'get', '00000000-0000-4000-8000-000000000000'])).code).toBe(3);
      expect((await runAdmin(['executions', 'list', '--status', 'sleeping'])).code).toBe(1);
    });
  });

  describe('keys', () => {
    it('creates a read-only key (shown once), which reads but may not administer (2), and is refused once revoked', async () => {
      const created = await runAdmin(['-o', 'json', 'keys', 'create', 'cli-reader', '--scopes', 'mcp:read']);
      expect(created.code).toBe(0);
      const { id, key } = json<{ id: string; key: string }>(created);
      expect(key).toMatch(/^gmcp_/);
      const listed = await runAdmin(['keys', 'list']);
      expect(listed.code).toBe(0);
      expect(listed.stdout).toContain('cli-reader');
      expect(listed.stdout).not.toContain(key);
      const reader = { GLOBALMCP_API_KEY: key };
      expect((await run(['servers', 'list'], reader)).code).toBe(0);
      const denied = await run(['servers', 'restart', 'everything'], reader);
      expect(denied.code).toBe(2);
      expect(denied.stderr).toContain('AUTHORIZATION_DENIED: Missing scope: mcp:admin');
      expect((await run(['keys', 'list'], reader)).code).toBe(2);
      const revoked = await runAdmin(['keys', 'revoke', id]);
      expect(revoked.code).toBe(0);
      expect((await run(['servers', 'list'], reader)).code).toBe(2);
      expect((await runAdmin(['keys', 'revoke', '00000000-0000-4000-8000-000000000000'])).code).toBe(3);
    });

    it('refuses an unknown scope as usage (1)', async () => {
      const result = await runAdmin(['keys', 'create', 'x', '--scopes', 'mcp:everything']);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain('unknown: mcp:everything');
    });
  });

  describe('mcp-config', () => {
    it.each([
      ['vscode', (s: Record<string, any>) => s.servers.globalmcp],
      ['cursor', (s: Record<string, any>) => s.mcpServers.globalmcp],
    ])('prints the %s snippet with the /mcp URL and the X-API-Key header', async (client, entry) => {
      const result = await runAdmin(['mcp-config', client]);
      expect(result.code).toBe(0);
      const snippet = entry(JSON.parse(result.stdout) as Record<string, any>) as {
        url: string;
        headers: Record<string, string>;
      };
      expect(snippet.url).toBe(`${gateway.api}/mcp`);
      expect(Object.keys(snippet.headers)).toEqual(['X-API-Key']);
      expect(result.stdout).not.toContain(TEST_ADMIN_KEY);
    });

    it('prints the Claude Desktop snippet (mcp-remote) with the key in use when asked, for one server', async () => {
      const result = await runAdmin(['mcp-config', 'claude-desktop', '--server', 'everything', '--with-key']);
      expect(result.code).toBe(0);
      const { mcpServers } = JSON.parse(result.stdout) as {
        mcpServers: { globalmcp: { command: string; args: string[]; env: Record<string, string> } };
      };
      expect(mcpServers.globalmcp.command).toBe('npx');
      expect(mcpServers.globalmcp.args).toEqual(
        expect.arrayContaining(['mcp-remote', `${gateway.api}/mcp/everything`, 'X-API-Key:${GLOBALMCP_API_KEY}']),
      );
      expect(mcpServers.globalmcp.env.GLOBALMCP_API_KEY).toBe(TEST_ADMIN_KEY);
    });

    it('exits 1 for a client it does not know', async () => {
      const result = await runAdmin(['mcp-config', 'emacs']);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain('vscode, cursor, claude-desktop');
    });
  });
});
