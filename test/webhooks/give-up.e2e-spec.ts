import { ADMIN_HEADERS } from '../support/auth';
import { TOOLBOX } from '../support/paths';
import { createTestDatabase, type TestDatabase } from '../support/test-database';
import { startTestGateway, type TestGateway } from '../support/test-gateway';
import { waitFor } from '../support/wait';
import { TestReceiver } from './receiver';

const SECRET = 'whsec_give-up-0123456789';
const YAML =
  `mcp:\n  servers:\n    toolbox:\n      type: stdio\n      command: ${process.execPath}\n      args: ["${TOOLBOX}"]\n` +
  `  webhooks:\n    poll-interval: 100\n    initial-backoff: 100\n    max-backoff: 300\n    max-attempts: 3\n`;

interface Delivery {
  status: string;
  attempts: number;
  next_attempt_at: string | null;
  last_status_code: number | null;
  attempt_log: Array<{ attempt: number; outcome: string; status_code: number | null }>;
}

describe('webhook deliveries that never succeed', () => {
  let db: TestDatabase;
  let gateway: TestGateway;
  let receiver: TestReceiver;

  beforeAll(async () => {
    db = await createTestDatabase('webhooks-give-up');
    receiver = new TestReceiver(SECRET);
    receiver.status = 500;
    await receiver.start();
    gateway = await startTestGateway({ databaseUrl: db.url, yaml: YAML });
    await waitFor(
      async () =>
        (
          (await (
            await fetch(`${gateway.addresses.api}/api/tools?server_id=toolbox`, { headers: ADMIN_HEADERS })
          ).json()) as { total_count: number }
        ).total_count > 0,
      30_000,
      'the toolbox server',
    );
  }, 60_000);

  afterAll(async () => {
    await gateway?.stop();
    await receiver?.stop();
    await db?.drop();
  });

  it('are marked failed after mcp.webhooks.max-attempts attempts, each one recorded, and sent no more', async () => {
    const api = gateway.addresses.api;
    const created = await fetch(`${api}/api/webhooks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...ADMIN_HEADERS },
      body: JSON.stringify({ url: receiver.url, events: ['tool.executed'], secret: SECRET }),
    });
    expect(created.status).toBe(201);
    const { id } = (await created.json()) as { id: string };
    const call = await fetch(`${api}/api/tools/echo/execute`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...ADMIN_HEADERS },
      body: JSON.stringify({ server_id: 'toolbox', parameters: { message: 'never accepted' } }),
    });
    expect(call.status).toBe(200);

    const deliveries = async () =>
      (
        (await (await fetch(`${api}/api/webhooks/${id}/deliveries`, { headers: ADMIN_HEADERS })).json()) as {
          deliveries: Delivery[];
        }
      ).deliveries;
    await waitFor(async () => (await deliveries())[0]?.status === 'failed', 15_000, 'the delivery given up');
    const [failed] = await deliveries();
    expect(failed).toMatchObject({ status: 'failed', attempts: 3, next_attempt_at: null, last_status_code: 500 });
    expect(failed!.attempt_log.map((a) => [a.attempt, a.outcome, a.status_code])).toEqual([
      [1, 'retry', 500],
      [2, 'retry', 500],
      [3, 'failed', 500],
    ]);
    expect(receiver.received).toHaveLength(3);
    expect(new Set(receiver.received.map((r) => r.id)).size).toBe(1);

    const metrics = await (await fetch(`${gateway.addresses.metrics}/actuator/prometheus`)).text();
    expect(metrics).toMatch(/webhook_deliveries_total\{outcome="failed"\} [1-9]/);
  });
});
