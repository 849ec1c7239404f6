import { ADMIN_HEADERS } from '../support/auth';
import { TOOLBOX } from '../support/paths';
import { createTestDatabase, type TestDatabase } from '../support/test-database';
import { startTestGateway, type TestGateway } from '../support/test-gateway';
import { waitForTools } from '../support/wait';

/**
 * A tool name two servers offer, one of them denied to the caller by a rule: the caller's list shows one `echo`, so
 * a call that names no server goes to that one (list and call agree) instead of a 409; a caller who sees both still
 * gets the 409. And the denial series exist at 0 before the first denial.
 */
describe('tool-level policy and tool names several servers offer', () => {
  let db: TestDatabase;
  let gateway: TestGateway;
  let api: string;
  let user: Record<string, string>;

  beforeAll(async () => {
    db = await createTestDatabase('policy_names');
    const yaml = `mcp:
  servers:
    alpha:
      type: stdio
      command: node
      args: ["${TOOLBOX}"]
    beta:
      type: stdio
      command: node
      args: ["${TOOLBOX}"]
  policy:
    rules:
      - id: beta-echo-for-admins
        effect: deny
        server: beta
        tool: echo
        unless:
          scopes: [mcp:admin]
`;
    gateway = await startTestGateway({ databaseUrl: db.url, yaml });
    api = gateway.addresses.api;
    await waitForTools(api, 'alpha', ADMIN_HEADERS);
    await waitForTools(api, 'beta', ADMIN_HEADERS);
    const created = await fetch(`${api}/api/api-keys`, {
      method: 'POST',
      headers: { ...ADMIN_HEADERS, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'user', scopes: ['mcp:read', 'mcp:write'] }),
    });
    user = { 'X-API-Key': ((await created.json()) as { key: string }).key };
  }, 60_000);

  afterAll(async () => {
    await gateway?.stop();
    await db?.drop();
  });

  const denials = async (server: string) => {
    const res = await fetch(`${gateway.addresses.management}/actuator/prometheus`, { headers: ADMIN_HEADERS });
    const match = new RegExp(
      `^mcp_policy_denials_total\\{server="${server}",rule="beta-echo-for-admins"\\} (\\d+)`,
      'm',
    ).exec(await res.text());
    return match ? Number(match[1]) : undefined;
  };

  it('has the denial series at 0 before any denial, for the server the rule names only', async () => {
    expect(await denials('beta')).toBe(0);
    expect(await denials('alpha')).toBeUndefined();
  });

  it('lists, reads and calls the one echo the caller may see, with no server named', async () => {
    const listed = await fetch(`${api}/api/tools`, { headers: user });
    const echoes = ((await listed.json()) as { tools: { name: string; server_id: string }[] }).tools.filter(
      (t) => t.name === 'echo',
    );
    expect(echoes.map((t) => t.server_id)).toEqual(['alpha']);

    const read = await fetch(`${api}/api/tools/echo`, { headers: user });
    expect(read.status).toBe(200);
    expect(((await read.json()) as { server_id: string }).server_id).toBe('alpha');

    const called = await fetch(`${api}/api/tools/echo/execute`, {
      method: 'POST',
      headers: { ...user, 'content-type': 'application/json' },
      body: JSON.stringify({ parameters: { message: 'hi' } }),
    });
    expect(called.status).toBe(200);
    const body = (await called.json()) as { execution_id: string; server_id: string; status: string };
    expect(body).toMatchObject({ server_id: 'alpha', status: 'completed' });
  });

  it('still answers 409 to a caller who sees both, and 403 naming the rule when the caller names the denied one', async () => {
    const both = await fetch(`${api}/api/tools/echo/execute`, {
      method: 'POST',
      headers: { ...ADMIN_HEADERS, 'content-type': 'application/json' },
      body: JSON.stringify({ parameters: { message: 'hi' } }),
    });
    expect(both.status).toBe(409);
    expect(((await both.json()) as { error: { details: unknown } }).error.details).toEqual({
      tool: 'echo',
      servers: ['alpha', 'beta'],
    });

    const named = await fetch(`${api}/api/servers/beta/tools/echo`, {
      method: 'POST',
      headers: { ...user, 'content-type': 'application/json' },
      body: JSON.stringify({ message: 'hi' }),
    });
    expect(named.status).toBe(403);
    expect(((await named.json()) as { error: { details: { rule: string } } }).error.details.rule).toBe(
      'beta-echo-for-admins',
    );
    expect(await denials('beta')).toBe(1);
  });
});
