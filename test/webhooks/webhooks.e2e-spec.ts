import { Client } from 'pg';
import { ADMIN_HEADERS } from '../support/auth';
import { TOOLBOX } from '../support/paths';
import { createTestDatabase, type TestDatabase } from '../support/test-database';
import { startTestGateway, type TestGateway } from '../support/test-gateway';
import { waitFor } from '../support/wait';
import { WebhookRetention } from 'src/webhooks/webhook-retention';
import { verifyDelivery } from 'src/webhooks/webhook-signature';
import { TestReceiver } from './receiver';

const SECRET = 'whsec_e2e-0123456789abcdef';
const YAML =
  `mcp:\n  servers:\n    toolbox:\n      type: stdio\n      command: ${process.execPath}\n      args: ["${TOOLBOX}"]\n` +
  `  webhooks:\n    poll-interval: 100\n    initial-backoff: 200\n    max-backoff: 1000\n    max-attempts: 30\n`;

interface Delivery {
  id: string;
  event: string;
  status: string;
  attempts: number;
  last_error: string | null;
  attempt_log: Array<{ attempt: number; outcome: string; status_code: number | null; error: string | null }>;
  payload: Record<string, unknown>;
}

describe('webhooks', () => {
  let db: TestDatabase;
  let gateway: TestGateway;
  let receiver: TestReceiver;
  let api: string;

  const call = (method: string, path: string, body?: unknown) =>
    fetch(`${api}${path}`, {
      method,
      headers: body !== undefined ? { 'content-type': 'application/json', ...ADMIN_HEADERS } : ADMIN_HEADERS,
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
  const json = async <T>(res: Response) => (await res.json()) as T;
  const execute = (tool: string, parameters: Record<string, unknown> = {}) =>
    call('POST', `/api/tools/${tool}/execute`, { server_id: 'toolbox', parameters });
  const deliveries = async (webhookId: string) =>
    (await json<{ deliveries: Delivery[] }>(await call('GET', `/api/webhooks/${webhookId}/deliveries?limit=200`)))
      .deliveries;
  const createWebhook = async (events: string[]) => {
    const res = await call('POST', '/api/webhooks', { url: receiver.url, events, secret: SECRET });
    expect(res.status).toBe(201);
    return json<{ id: string }>(res);
  };

  beforeAll(async () => {
    db = await createTestDatabase('webhooks');
    receiver = new TestReceiver(SECRET);
    await receiver.start();
    gateway = await startTestGateway({ databaseUrl: db.url, yaml: YAML });
    api = gateway.addresses.api;
    await waitFor(
      async () =>
        (await json<{ total_count: number }>(await call('GET', '/api/tools?server_id=toolbox'))).total_count > 0,
      30_000,
      'the toolbox server',
    );
  }, 60_000);

  afterAll(async () => {
    await gateway?.stop();
    await receiver?.stop();
    await db?.drop();
  });

  describe('subscriptions', () => {
    it('creates a webhook (201), never returns its secret, and stores the secret only encrypted', async () => {
      const res = await call('POST', '/api/webhooks', {
        url: receiver.url,
        events: ['tool.failed'],
        secret: SECRET,
        active: false,
      });
      expect(res.status).toBe(201);
      const created = await json<Record<string, unknown>>(res);
      expect(created).toMatchObject({ url: receiver.url, events: ['tool.failed'], active: false });
      expect(JSON.stringify(created)).not.toContain(SECRET);
      expect(created).not.toHaveProperty('secret');

      const listed = await (await call('GET', '/api/webhooks')).text();
      expect(listed).toContain(String(created.id));
      expect(listed).not.toContain(SECRET);
      const one = await call('GET', `/api/webhooks/${String(created.id)}`);
      expect(one.status).toBe(200);
      expect(await one.text()).not.toContain(SECRET);

      const client = new Client({ connectionString: db.url });
      await client.connect();
      try {
        const { rows } = await client.query<{ secret: Buffer }>(`SELECT secret FROM webhooks WHERE id = $1`, [
          created.id,
        ]);
        expect(rows).toHaveLength(1);
        expect(rows[0]!.secret.includes(Buffer.from(SECRET))).toBe(false);
        expect(rows[0]!.secret.toString('latin1')).not.toContain('whsec');
      } finally {
        await client.end();
      }

      expect((await call('DELETE', `/api/webhooks/${String(created.id)}`)).status).toBe(200);
      expect((await call('GET', `/api/webhooks/${String(created.id)}`)).status).toBe(404);
      expect((await call('DELETE', `/api/webhooks/${String(created.id)}`)).status).toBe(404);
    });

    it.each([
      ['a URL that is not http(s)', { url: 'ftp://127.0.0.1/x', events: ['tool.failed'], secret: SECRET }],
      ['credentials in the URL', { url: 'http://u:p@127.0.0.1/x', events: ['tool.failed'], secret: SECRET }],
      ['an unknown event', { url: 'http://127.0.0.1/x', events: ['tool.exploded'], secret: SECRET }],
      ['no events', { url: 'http://127.0.0.1/x', events: [], secret: SECRET }],
      ['a short secret', { url: 'http://127.0.0.1/x', events: ['tool.failed'], secret: 'short' }],
      ['no secret', { url: 'http://127.0.0.1/x', events: ['tool.failed'] }],
      ['an unknown field', { url: 'http://127.0.0.1/x', events: ['tool.failed'], secret: SECRET, extra: 1 }],
    ])('refuses %s with a 400 envelope', async (_what, body) => {
      const res = await call('POST', '/api/webhooks', body);
      expect(res.status).toBe(400);
      const envelope = await json<{ error: { code: string } }>(res);
      expect(envelope.error.code).toBe('INVALID_PARAMETERS');
    });

    it('refuses a link-local / metadata receiver (403), as for servers', async () => {
      const res = await call('POST', '/api/webhooks', {
        url: 'http://169.254.169.254/latest/meta-data',
        events: ['tool.failed'],
        secret: SECRET,
      });
      expect(res.status).toBe(403);
      expect((await json<{ error: { code: string } }>(res)).error.code).toBe('AUTHORIZATION_DENIED');
    });

    it('answers 400 for a malformed id and 404 for an unknown one', async () => {
      expect((await call('GET', '/api/webhooks/not-a-uuid')).status).toBe(400);
      expect((await call('GET', '/api/webhooks/00000000-0000-4000-8000-000000000000/deliveries')).status).toBe(404);
    });

    it('is admin only', async () => {
      const res = await fetch(`${api}/api/webhooks`);
      expect(res.status).toBe(401);
    });
  });

  describe('deliveries', () => {
    it('delivers signed tool.executed and tool.failed events with their execution', async () => {
      const hook = await createWebhook(['tool.executed', 'tool.failed']);
      const ok = await json<{ execution_id: string }>(await execute('echo', { message: 'hello' }));
      const failed = await execute('fail');
      expect(failed.status).toBe(502);
      await waitFor(
        () =>
          receiver.received.some((r) => r.body.data.execution_id === ok.execution_id) &&
          receiver.of('tool.failed').length > 0,
        15_000,
        'both deliveries',
      );
      const executed = receiver.received.find((r) => r.body.data.execution_id === ok.execution_id)!;
      expect(executed.signatureValid).toBe(true);
      expect(executed.event).toBe('tool.executed');
      expect(executed.body).toMatchObject({
        id: executed.id,
        event: 'tool.executed',
        data: { server_id: 'toolbox', tool_name: 'echo', status: 'completed', is_error: false },
      });
      const timestamp = Number(executed.headers['x-globalmcp-timestamp']);
      expect(Math.abs(timestamp - Date.now() / 1000)).toBeLessThan(300);

      const failure = receiver.of('tool.failed')[0]!;
      expect(failure.signatureValid).toBe(true);
      expect(failure.body.data).toMatchObject({ tool_name: 'fail', status: 'failed' });
      expect((failure.body.data.error as { code: string }).code).toBe('TOOL_EXECUTION_FAILED');

      // A signature made with another secret does not verify: the check above means something.
      expect(
        verifyDelivery(
          'another-secret-0123456789',
          String(executed.headers['x-globalmcp-timestamp']),
          JSON.stringify(executed.body),
          String(executed.headers['x-globalmcp-signature']),
        ),
      ).toBe(false);

      await waitFor(
        async () => (await deliveries(hook.id)).filter((d) => d.status === 'delivered').length >= 2,
        10_000,
        'the deliveries recorded as delivered',
      );
      const log = await deliveries(hook.id);
      const mine = log.find((d) => d.id === executed.id)!;
      expect(mine).toMatchObject({ event: 'tool.executed', status: 'delivered', attempts: 1 });
      expect(mine.attempt_log).toEqual([
        expect.objectContaining({ attempt: 1, outcome: 'delivered', status_code: 200, error: null }),
      ]);
      expect((await call('DELETE', `/api/webhooks/${hook.id}`)).status).toBe(200);
    });

    it('delivers server.disconnected and server.connected when a server restarts', async () => {
      const hook = await createWebhook(['server.connected', 'server.disconnected']);
      expect((await call('POST', '/api/servers/toolbox/restart')).status).toBe(200);
      await waitFor(
        () =>
          receiver.of('server.disconnected').some((r) => r.body.data.server_id === 'toolbox') &&
          receiver.of('server.connected').some((r) => r.body.data.server_id === 'toolbox'),
        20_000,
        'server.disconnected and server.connected for toolbox',
      );
      const connected = receiver.of('server.connected').find((r) => r.body.data.server_id === 'toolbox')!;
      expect(connected.signatureValid).toBe(true);
      expect(connected.body.data).toMatchObject({ status: 'active', server_id: 'toolbox' });
      expect(typeof connected.body.data.instance).toBe('string');
      expect((await call('DELETE', `/api/webhooks/${hook.id}`)).status).toBe(200);
    });

    it('retries while the receiver is down (each attempt recorded) and delivers once it is back', async () => {
      const hook = await createWebhook(['tool.executed']);
      await receiver.stop();
      const { execution_id } = await json<{ execution_id: string }>(await execute('echo', { message: 'while down' }));
      await waitFor(
        async () => (await deliveries(hook.id)).some((d) => d.attempts >= 3),
        20_000,
        'three failed attempts',
      );
      const pending = (await deliveries(hook.id))[0]!;
      expect(pending.status).toBe('pending');
      expect(pending.last_error).toMatch(/ECONNREFUSED/);
      expect(pending.attempt_log.slice(0, 2).map((a) => a.outcome)).toEqual(['retry', 'retry']);

      // Answers that are not 2xx are retried too.
      receiver.status = 503;
      await receiver.start();
      await waitFor(() => receiver.received.some((r) => r.body.data.execution_id === execution_id), 15_000, '503');
      receiver.status = 200;
      await waitFor(
        async () => (await deliveries(hook.id))[0]!.status === 'delivered',
        20_000,
        'the delivery after the receiver came back',
      );
      const done = (await deliveries(hook.id))[0]!;
      const outcomes = done.attempt_log.map((a) => a.outcome);
      expect(outcomes.at(-1)).toBe('delivered');
      expect(outcomes.slice(0, -1).every((o) => o === 'retry')).toBe(true);
      expect(done.attempt_log.some((a) => a.status_code === 503)).toBe(true);
      const got = receiver.received.filter((r) => r.body.data.execution_id === execution_id);
      expect(got.every((r) => r.signatureValid && r.id === done.id)).toBe(true);
      expect(got.filter((r) => r.headers['x-globalmcp-delivery'] === done.id).length).toBe(
        done.attempt_log.filter((a) => a.status_code !== null).length,
      );

      const metrics = await (await fetch(`${gateway.addresses.metrics}/actuator/prometheus`)).text();
      expect(metrics).toMatch(/webhook_deliveries_total\{outcome="delivered"\} [1-9]/);
      expect(metrics).toMatch(/webhook_deliveries_total\{outcome="retry"\} [1-9]/);
      expect((await call('DELETE', `/api/webhooks/${hook.id}`)).status).toBe(200);
    }, 60_000);

    it('writes no delivery for an inactive webhook or an event it did not ask for', async () => {
      const inactive = await json<{ id: string }>(
        await call('POST', '/api/webhooks', {
          url: receiver.url,
          events: ['tool.executed'],
          secret: SECRET,
          active: false,
        }),
      );
      const other = await createWebhook(['server.error']);
      const before = receiver.received.length;
      const res = await execute('echo', { message: 'nobody listens' });
      expect(res.status).toBe(200);
      const { execution_id } = await json<{ execution_id: string }>(res);
      // The record is written with its deliveries (same transaction): once it is there, so would they be.
      await waitFor(
        async () => (await call('GET', `/api/executions/${execution_id}`)).status === 200,
        10_000,
        'the execution record',
      );
      expect(await deliveries(inactive.id)).toEqual([]);
      expect(await deliveries(other.id)).toEqual([]);
      expect(receiver.received.length).toBe(before);
    });
    it('deletes finished deliveries older than retention-days, keeps pending ones', async () => {
      const hook = await createWebhook(['tool.executed']);
      await execute('echo', { message: 'to be aged' });
      await waitFor(
        async () => (await deliveries(hook.id)).some((d) => d.status === 'delivered'),
        10_000,
        'a delivered delivery',
      );
      const client = new Client({ connectionString: db.url });
      await client.connect();
      try {
        // A delivered one and a pending one (due in an hour), both 40 days old.
        await client.query(
          `INSERT INTO webhook_deliveries (id, webhook_id, event, payload, next_attempt_at)
           VALUES (gen_random_uuid(), $1, 'tool.executed', '{}'::jsonb, now() + interval '1 hour')`,
          [hook.id],
        );
        await client.query(
          `UPDATE webhook_deliveries SET created_at = now() - interval '40 days' WHERE webhook_id = $1`,
          [hook.id],
        );
        expect(await gateway.api.get(WebhookRetention).sweep()).toBeGreaterThanOrEqual(1);
        const left = await client.query<{ status: string }>(
          `SELECT status FROM webhook_deliveries WHERE webhook_id = $1`,
          [hook.id],
        );
        expect(left.rows.map((r) => r.status)).toEqual(['pending']);
      } finally {
        await client.end();
      }
      expect((await call('DELETE', `/api/webhooks/${hook.id}`)).status).toBe(200);
    });
  });
});
