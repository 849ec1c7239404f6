import { ADMIN_HEADERS } from '../support/auth';
import { RECORDER, TOOLBOX } from '../support/paths';
import { createTestDatabase, type TestDatabase } from '../support/test-database';
import { startTestGateway, type TestGateway } from '../support/test-gateway';
import { waitFor } from '../support/wait';

const NODE = process.execPath;
// One call in flight gateway-wide and no queue: a second call at the same time is refused (queue full). A server
// that went down stays down for a minute (no fast reconnects).
const YAML =
  `mcp:\n  client:\n    max-concurrent-connections: 1\n    pool:\n      queue-capacity: 0\n` +
  `    retry:\n      max-attempts: 0\n      initial-interval: 60000\n  servers:\n` +
  `    recorder:\n      type: stdio\n      command: ${NODE}\n      args: ["${RECORDER}"]\n` +
  `    fragile:\n      type: stdio\n      command: ${NODE}\n      args: ["${TOOLBOX}"]\n`;

interface ExecutionRow {
  execution_id: string;
  server_id: string;
  tool_name: string;
  status: string;
  error: { code: string; message: string } | null;
}

/**
 * Calls that fail before reaching the upstream (server down / circuit open, pool queue full) are tool calls on
 * record as failed, with the code the caller got. Requests that name no existing server or tool (404) or carry
 * invalid parameters are request errors, like a 401: the access log has them, the audit trail does not.
 */
describe('failed calls on the audit trail', () => {
  let db: TestDatabase;
  let gateway: TestGateway;
  let api: string;

  const execute = (server: string, tool: string, parameters: Record<string, unknown>, timeout?: number) =>
    fetch(`${api}/api/servers/${server}/tools/${tool}${timeout ? `?timeout=${timeout}` : ''}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...ADMIN_HEADERS },
      body: JSON.stringify(parameters),
    });
  const records = async (query: string) =>
    (
      (await (await fetch(`${api}/api/executions?${query}`, { headers: ADMIN_HEADERS })).json()) as {
        executions: ExecutionRow[];
      }
    ).executions;

  beforeAll(async () => {
    db = await createTestDatabase('exec-failures');
    gateway = await startTestGateway({ databaseUrl: db.url, yaml: YAML });
    api = gateway.addresses.api;
    await waitFor(
      async () =>
        (
          (await (await fetch(`${api}/api/tools?server_id=recorder`, { headers: ADMIN_HEADERS })).json()) as {
            total_count: number;
          }
        ).total_count > 0,
      30_000,
      'the recorder server',
    );
  }, 60_000);

  afterAll(async () => {
    await gateway?.stop();
    await db?.drop();
  });

  it('records a call refused because the pool queue is full', async () => {
    const busy = execute('recorder', 'sleep', { ms: 1500 });
    // Calls while the first holds the only slot are refused; before it has the slot, one may go through instead.
    let refused = 0;
    let code: string | undefined;
    for (let i = 0; i < 50 && refused === 0; i++) {
      const res = await execute('recorder', 'sleep', { ms: 1 });
      if (res.status === 503) {
        refused++;
        code = ((await res.json()) as { error: { code: string } }).error.code;
      } else await new Promise((r) => setTimeout(r, 20));
    }
    expect(refused).toBe(1);
    expect(code).toBe('SERVER_UNAVAILABLE');
    expect((await busy).status).toBe(200);
    await waitFor(
      async () => (await records('server_id=recorder&status=failed')).length === 1,
      10_000,
      'the failed record',
    );
    const [failed] = await records('server_id=recorder&status=failed');
    expect(failed).toMatchObject({ tool_name: 'sleep', error: { code: 'SERVER_UNAVAILABLE' } });
  });

  it('records a call to a server that is down', async () => {
    await waitFor(async () => (await execute('fragile', 'echo', { message: 'up' })).status === 200, 20_000, 'fragile');
    // The process exits in the middle of this call; it is not respawned for a minute.
    expect((await execute('fragile', 'crash', {})).status).toBeGreaterThanOrEqual(500);
    const res = await execute('fragile', 'echo', { message: 'while down' }, 2000);
    expect(res.status).toBe(503);
    const code = ((await res.json()) as { error: { code: string } }).error.code;
    await waitFor(async () => (await records('server_id=fragile&status=failed')).length === 2, 10_000, 'the records');
    const failedCalls = await records('server_id=fragile&status=failed');
    expect(failedCalls.find((r) => r.tool_name === 'echo')).toMatchObject({ status: 'failed', error: { code } });
  });

  it('does not record a request naming an unknown server or tool', async () => {
    expect((await execute('nosuch', 'sleep', {})).status).toBe(404);
    expect((await execute('recorder', 'nosuchtool', {})).status).toBe(404);
    // Something recorded after them is on record, so they would be too by now.
    expect((await execute('recorder', 'sleep', { ms: 1 })).status).toBe(200);
    await waitFor(
      async () => (await records('server_id=recorder&status=completed')).length === 2,
      10_000,
      'the later record',
    );
    expect(await records('server_id=nosuch')).toEqual([]);
    expect(await records('tool=nosuchtool')).toEqual([]);
  });
});
