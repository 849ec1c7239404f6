import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { requestHash } from 'src/executions/sanitize';
import { DataSource } from 'typeorm';
import { ADMIN_HEADERS } from '../support/auth';
import { createTestDatabase, type TestDatabase } from '../support/test-database';
import { startTestGateway, type TestGateway } from '../support/test-gateway';

const EVERYTHING = path.resolve(
  __dirname,
  '..',
  '..',
  'node_modules/@modelcontextprotocol/server-everything/dist/index.js',
);
const YAML = `mcp:\n  servers:\n    everything:\n      type: stdio\n      command: node\n      args: ["${EVERYTHING}", stdio]\n`;

async function startWithEverything(url: string): Promise<TestGateway> {
  const gateway = await startTestGateway({ databaseUrl: url, yaml: YAML });
  const deadline = Date.now() + 30_000;
  for (;;) {
    const res = await fetch(`${gateway.addresses.api}/api/tools?server_id=everything`, { headers: ADMIN_HEADERS });
    if (res.status === 200 && ((await res.json()) as { total_count: number }).total_count > 0) return gateway;
    if (Date.now() > deadline) throw new Error('server-everything did not come up');
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('executions left running by a stopped gateway', () => {
  let db: TestDatabase;
  let gateway: TestGateway | undefined;

  beforeAll(async () => {
    db = await createTestDatabase('exec-interrupted');
  });

  afterAll(async () => {
    await gateway?.stop();
    await db?.drop();
  });

  it('are marked interrupted at the next start', async () => {
    gateway = await startWithEverything(db.url);
    const id = randomUUID();
    // The admin key's principal, as recorded for its calls.
    const probe = await fetch(`${gateway.addresses.api}/api/tools/echo/execute`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...ADMIN_HEADERS },
      body: JSON.stringify({ server_id: 'everything', parameters: { message: 'probe' } }),
    });
    expect(probe.status).toBe(200);
    const probeId = ((await probe.json()) as { execution_id: string }).execution_id;
    await new Promise((r) => setTimeout(r, 500));
    const probeRecord = (await (
      await fetch(`${gateway.addresses.api}/api/executions/${probeId}`, { headers: ADMIN_HEADERS })
    ).json()) as { principal: string };
    const ADMIN_PRINCIPAL = probeRecord.principal;
    // What a killed gateway leaves behind: the `running` row of an idempotent call that never finished.
    await gateway.api.get(DataSource).query(
      `INSERT INTO executions (id, principal, channel, server_id, tool_name, status, started_at, idempotency_key,
                               request_hash)
       VALUES ($1, $2, 'rest', 'everything', 'echo', 'running', now(), 'k', $3)`,
      [id, ADMIN_PRINCIPAL, requestHash('echo', 'everything', { message: 'x' })],
    );
    await gateway.stop();
    gateway = await startWithEverything(db.url);
    const res = await fetch(`${gateway.addresses.api}/api/executions/${id}`, { headers: ADMIN_HEADERS });
    expect(res.status).toBe(200);
    const record = (await res.json()) as {
      status: string;
      error: { code: string; reason: string };
      completed_at: string | null;
    };
    expect(record.status).toBe('interrupted');
    expect(record.error).toMatchObject({ code: 'SERVER_ERROR', reason: 'gateway_crash' });
    expect(record.completed_at).not.toBeNull();

    // A retry with that key is not run again (its first outcome is unknown): 409 naming the execution.
    const retry = await fetch(`${gateway.addresses.api}/api/tools/echo/execute`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...ADMIN_HEADERS },
      body: JSON.stringify({ server_id: 'everything', parameters: { message: 'x' }, idempotency_key: 'k' }),
    });
    expect(retry.status).toBe(409);
    expect(((await retry.json()) as { error: { details: unknown } }).error.details).toEqual({
      idempotency_key: 'k',
      execution_id: id,
    });
  }, 60_000);
});
