import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ADMIN_HEADERS } from '../support/auth';
import { createTestDatabase, type TestDatabase } from '../support/test-database';
import { startTestGateway, type TestGateway } from '../support/test-gateway';
import { waitFor } from '../support/wait';

const SLOW = path.join(__dirname, 'fixtures', 'slow-progress-server.js');

type Json = any;

/** Reads a whole (finite) event stream. */
async function allEvents(res: Response): Promise<{ event: string; data: Json }[]> {
  const text = await res.text();
  return text
    .split('\n\n')
    .filter((block) => block.includes('event:'))
    .map((block) => {
      const fields = Object.fromEntries(
        block.split('\n').map((line) => [line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 1).trim()]),
      );
      return { event: fields.event as string, data: JSON.parse(fields.data as string) };
    });
}

describe('jobs behind a load balancer: two gateways on one database', () => {
  let db: TestDatabase;
  let a: TestGateway;
  let b: TestGateway;
  let dir: string;
  let cancelLog: string;

  /** Starts count as a job (?mode=async); the body is its arguments. */
  const start = (gateway: TestGateway, args: unknown) =>
    fetch(`${gateway.addresses.api}/api/servers/slow/tools/count?mode=async`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...ADMIN_HEADERS },
      body: JSON.stringify(args),
    }).then(async (res) => ({ status: res.status, body: (await res.json()) as Json }));

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'globalmcp-jobs-replicas-'));
    cancelLog = path.join(dir, 'cancellations.log');
    db = await createTestDatabase('jobs_replicas');
    const yaml =
      `mcp:\n  servers:\n    slow:\n      type: stdio\n      command: node\n      args: ["${SLOW}"]\n      pool-size: 1\n` +
      `      environment:\n        CANCEL_LOG: ${cancelLog}\n`;
    a = await startTestGateway({ databaseUrl: db.url, yaml });
    b = await startTestGateway({ databaseUrl: db.url, yaml });
    for (const gateway of [a, b]) {
      await waitFor(
        async () => {
          const res = await fetch(`${gateway.addresses.api}/api/tools?server_id=slow`, { headers: ADMIN_HEADERS });
          return ((await res.json()) as Json).total_count === 1;
        },
        30_000,
        'the slow server on both gateways',
      );
    }
  }, 90_000);

  afterAll(async () => {
    await a?.stop();
    await b?.stop();
    await db?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('cancels through the other gateway: the one running the job cancels it upstream', async () => {
    const started = await start(a, { steps: 300, interval_ms: 100 });
    expect(started.status).toBe(202);
    const id = started.body.execution_id as string;
    const followedOnB = fetch(`${b.addresses.api}/api/executions/${id}/events`, { headers: ADMIN_HEADERS });
    const followedOnA = fetch(`${a.addresses.api}/api/executions/${id}/events`, { headers: ADMIN_HEADERS });
    const [onB, onA] = await Promise.all([followedOnB, followedOnA]);

    const cancelled = await fetch(`${b.addresses.api}/api/executions/${id}/cancel`, {
      method: 'POST',
      headers: ADMIN_HEADERS,
    });
    expect(cancelled.status).toBe(200);
    expect(await cancelled.json()).toEqual({
      execution_id: id,
      status: 'cancelled',
      message: 'Cancelled by the caller',
    });

    await waitFor(() => existsSync(cancelLog) && readFileSync(cancelLog, 'utf8').trim() !== '', 5_000, 'the upstream');
    const eventsOnA = await allEvents(onA);
    expect(eventsOnA.at(-1)).toMatchObject({ event: 'cancelled', data: { status: 'cancelled' } });
    // B follows the record: the status, then the outcome once it is written
    const eventsOnB = await allEvents(onB);
    expect(eventsOnB[0]).toMatchObject({ event: 'status', data: { status: 'running' } });
    expect(eventsOnB.at(-1)).toMatchObject({ event: 'cancelled', data: { status: 'cancelled' } });
    expect(eventsOnB.at(-1)!.data.message).toMatch(/cancel/i);

    const again = await fetch(`${b.addresses.api}/api/executions/${id}/cancel`, {
      method: 'POST',
      headers: ADMIN_HEADERS,
    });
    expect(again.status).toBe(409);
  });

  it("follows another gateway's job to its result", async () => {
    const started = await start(a, { steps: 5, interval_ms: 100 });
    const id = started.body.execution_id as string;
    const events = await allEvents(
      await fetch(`${b.addresses.api}/api/executions/${id}/events`, { headers: ADMIN_HEADERS }),
    );
    expect(events.at(-1)).toMatchObject({ event: 'result', data: { status: 'completed' } });
    expect(events.at(-1)!.data.result.content[0].text).toBe('counted to 5');
  });
});
