import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { ADMIN_HEADERS } from '../support/auth';
import { EVERYTHING, RECORDER } from '../support/paths';
import { createTestDatabase, type TestDatabase } from '../support/test-database';
import { startTestGateway, type TestGateway } from '../support/test-gateway';
import { waitFor } from '../support/wait';

const SLOW = path.join(__dirname, 'fixtures', 'slow-progress-server.js');

type Json = any;

interface SseEvent {
  id?: string;
  event: string;
  data: Json;
}

/**
 * Reads a Server-Sent Events response until `stop(events)` holds or the stream ends (bounded by `timeoutMs`), then
 * stops reading (closing the connection unless the stream ended by itself).
 */
async function readEvents(
  res: Response,
  stop: (events: SseEvent[]) => boolean = () => false,
  timeoutMs = 20_000,
): Promise<{ events: SseEvent[]; ended: boolean }> {
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  const events: SseEvent[] = [];
  let buffer = '';
  let ended = false;
  const timer = setTimeout(() => void reader.cancel(), timeoutMs);
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) {
        ended = true;
        break;
      }
      buffer += decoder.decode(value, { stream: true });
      let cut: number;
      while ((cut = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        const fields: Record<string, string> = {};
        for (const line of block.split('\n')) {
          if (line.startsWith(':')) continue;
          const colon = line.indexOf(':');
          fields[line.slice(0, colon)] = line.slice(colon + 1).trimStart();
        }
        if (fields.event) events.push({ id: fields.id, event: fields.event, data: JSON.parse(fields.data ?? 'null') });
      }
      if (stop(events)) break;
    }
  } finally {
    clearTimeout(timer);
    if (!ended) await reader.cancel().catch(() => undefined);
  }
  return { events, ended };
}

describe('long-running tools as jobs: 202, events, cancel', () => {
  let db: TestDatabase;
  let gateway: TestGateway;
  let api: string;
  let dir: string;
  let cancelLog: string;
  let recorderLog: string;

  const post = async (p: string, body: unknown, headers: Record<string, string> = {}) => {
    const res = await fetch(`${api}${p}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...ADMIN_HEADERS, ...headers },
      body: JSON.stringify(body),
    });
    return { status: res.status, headers: res.headers, body: (await res.json()) as Json };
  };
  const get = async (p: string, headers: Record<string, string> = ADMIN_HEADERS) => {
    const res = await fetch(`${api}${p}`, { headers });
    return { status: res.status, body: (await res.json()) as Json };
  };
  const events = (id: string, headers: Record<string, string> = {}) =>
    fetch(`${api}/api/executions/${id}/events`, { headers: { ...ADMIN_HEADERS, ...headers } });
  const cancellations = (file: string) =>
    existsSync(file)
      ? readFileSync(file, 'utf8')
          .split('\n')
          .filter(Boolean)
          .map((line) => line.split(' '))
      : [];
  const recordOf = async (id: string, status: string) => {
    let record: Json;
    await waitFor(
      async () => {
        record = (await get(`/api/executions/${id}`)).body;
        return record.status === status;
      },
      10_000,
      `execution ${id} recorded ${status}`,
    );
    return record;
  };

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'globalmcp-jobs-'));
    cancelLog = path.join(dir, 'slow-cancellations.log');
    recorderLog = path.join(dir, 'recorder-cancellations.log');
    db = await createTestDatabase('jobs');
    gateway = await startTestGateway({
      databaseUrl: db.url,
      yaml:
        'mcp:\n  client:\n    default-timeout: 30000\n  servers:\n' +
        `    everything:\n      type: stdio\n      command: node\n      args: ["${EVERYTHING}", stdio]\n` +
        `    slow:\n      type: stdio\n      command: node\n      args: ["${SLOW}"]\n      pool-size: 1\n` +
        `      environment:\n        CANCEL_LOG: ${cancelLog}\n` +
        `    recorder:\n      type: stdio\n      command: node\n      args: ["${RECORDER}"]\n      pool-size: 1\n` +
        `      environment:\n        CANCEL_LOG: ${recorderLog}\n`,
    });
    api = gateway.addresses.api;
    await waitFor(
      async () => {
        const { body } = await get('/api/tools');
        const names = (body.tools as { server_id: string; name: string }[]).map((t) => `${t.server_id}/${t.name}`);
        return ['everything/trigger-long-running-operation', 'slow/count', 'recorder/hang'].every((n) =>
          names.includes(n),
        );
      },
      30_000,
      'the three servers with their tools',
    );
  }, 60_000);

  afterAll(async () => {
    await gateway?.stop();
    await db?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("runs server-everything's long-running operation as a job: 202 + Location, progress over SSE, then the result", async () => {
    const started = await post('/api/servers/everything/tools/trigger-long-running-operation?mode=async', {
      duration: 1.5,
      steps: 3,
    });
    expect(started.status).toBe(202);
    const id = started.body.execution_id as string;
    expect(started.headers.get('location')).toBe(`/api/executions/${id}`);
    expect(started.body).toMatchObject({
      status: 'running',
      server_id: 'everything',
      tool_name: 'trigger-long-running-operation',
      links: { events: `/api/executions/${id}/events`, cancel: `/api/executions/${id}/cancel` },
    });
    // visible at once, running, with what it was called with
    const running = (await get(`/api/executions/${id}`)).body;
    expect(running.status).toBe('running');
    expect(running.parameters).toEqual({ duration: 1.5, steps: 3 });

    const res = await events(id);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const { events: seen, ended } = await readEvents(res);
    expect(ended).toBe(true);
    // server-everything may also log while the job runs (log events); the rest is exact
    expect(seen.map((e) => e.event).filter((e) => e !== 'log')).toEqual([
      'status',
      'progress',
      'progress',
      'progress',
      'result',
    ]);
    expect(seen.filter((e) => e.event === 'progress').map((e) => [e.data.progress, e.data.total])).toEqual([
      [1, 3],
      [2, 3],
      [3, 3],
    ]);
    expect(seen.map((e) => Number(e.id))).toEqual(seen.map((_e, i) => i + 1));
    const result = seen.at(-1)!.data;
    expect(result).toMatchObject({ execution_id: id, status: 'completed', result: { is_error: false } });
    expect(result.result.content[0].text).toContain('Long running operation completed');

    // The record is final before the result event leaves: read at once, with no wait.
    const record = (await get(`/api/executions/${id}`)).body;
    expect(record.status).toBe('completed');
    expect(record.result.content[0].text).toContain('Long running operation completed');

    // Resume: only what came after the given id; the stream of a finished job ends at once.
    const resumed = await readEvents(await events(id, { 'Last-Event-ID': '3' }));
    expect(resumed.events.map((e) => `${e.id} ${e.event}`)).toEqual(
      seen.filter((e) => Number(e.id) > 3).map((e) => `${e.id} ${e.event}`),
    );
    expect(resumed.events.at(-1)!.event).toBe('result');
    expect(resumed.ended).toBe(true);
  });

  it('starts a job with Prefer: respond-async on POST /api/tools/{name}/execute', async () => {
    const started = await post(
      '/api/tools/echo/execute',
      { server_id: 'everything', parameters: { message: 'later' } },
      { Prefer: 'respond-async, wait=0' },
    );
    expect(started.status).toBe(202);
    expect(started.headers.get('preference-applied')).toBe('respond-async');
    const { events: seen } = await readEvents(await events(started.body.execution_id));
    expect(seen.at(-1)).toMatchObject({ event: 'result', data: { status: 'completed' } });
    expect(seen.at(-1)!.data.result.content[0].text).toContain('later');
  });

  it('cancels a long-running job mid-way: the upstream sees notifications/cancelled, the job ends cancelled', async () => {
    // the per-server route takes Prefer: respond-async too (its body is the arguments)
    const started = await post(
      '/api/servers/slow/tools/count',
      { steps: 200, interval_ms: 100 },
      { Prefer: 'respond-async' },
    );
    expect(started.status).toBe(202);
    const id = started.body.execution_id as string;
    const before = cancellations(cancelLog).length;

    const progressed = await readEvents(
      await events(id),
      (seen) => seen.filter((e) => e.event === 'progress').length >= 2 && seen.some((e) => e.event === 'log'),
    );
    const progress = progressed.events.filter((e) => e.event === 'progress');
    expect(progress[0]!.data).toMatchObject({ progress: 1, total: 200, message: 'step 1 of 200' });
    // the log messages the server sent while the job ran
    expect(progressed.events.find((e) => e.event === 'log')!.data).toMatchObject({ level: 'info', logger: 'count' });

    const follower = readEvents(await events(id)); // connected (headers in) before what follows
    const cancelled = await post(`/api/executions/${id}/cancel`, {});
    expect(cancelled.status).toBe(200);
    expect(cancelled.body).toEqual({ execution_id: id, status: 'cancelled', message: 'Cancelled by the caller' });

    const end = await follower;
    expect(end.ended).toBe(true);
    expect(end.events.at(-1)).toMatchObject({ event: 'cancelled', data: { status: 'cancelled' } });
    await waitFor(() => cancellations(cancelLog).length > before, 5_000, 'the upstream to record the cancellation');
    const [, stepsDone] = cancellations(cancelLog).at(-1)!;
    expect(Number(stepsDone)).toBeGreaterThanOrEqual(2);
    expect(Number(stepsDone)).toBeLessThan(200);

    const record = await recordOf(id, 'cancelled');
    expect(record.error).toMatchObject({ message: 'Cancelled by the caller', reason: 'cancelled_by_caller' });
    const again = await post(`/api/executions/${id}/cancel`, {});
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('CONFLICT');
  });

  it('cancels a hanging call of the cancel-recorder fixture, which records the cancelled request', async () => {
    const started = await post('/api/servers/recorder/tools/hang?mode=async', {});
    expect(started.status).toBe(202);
    const id = started.body.execution_id as string;
    // Nothing tells when the call has reached the upstream (hang sends nothing): give the loopback a moment, or the
    // cancel would land before the request is sent and there would be nothing for the upstream to see.
    await new Promise((r) => setTimeout(r, 300));
    expect((await post(`/api/executions/${id}/cancel`, {})).status).toBe(200);
    await waitFor(() => cancellations(recorderLog).length === 1, 5_000, 'the recorder to log the cancellation');
    const listed = await post('/api/servers/recorder/tools/cancellations', {});
    expect(JSON.parse(listed.body.result.content[0].text)).toHaveLength(1);
  });

  it('keeps a job running when the client that follows it leaves', async () => {
    const started = await post('/api/servers/slow/tools/count?mode=async', { steps: 8, interval_ms: 100 });
    const id = started.body.execution_id as string;
    const first = await readEvents(await events(id), (seen) => seen.some((e) => e.event === 'progress'));
    expect(first.ended).toBe(false); // we hung up
    const record = await recordOf(id, 'completed');
    expect(record.result.content[0].text).toBe('counted to 8');
  });

  it('streams a synchronous call as SSE with Accept: text/event-stream, and cancels it when the client hangs up', async () => {
    const res = await fetch(`${api}/api/servers/slow/tools/count`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', ...ADMIN_HEADERS },
      body: JSON.stringify({ steps: 3, interval_ms: 50 }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(res.headers.get('x-request-id')).toBeTruthy();
    const { events: seen, ended } = await readEvents(res);
    expect(ended).toBe(true);
    expect(seen.filter((e) => e.event === 'progress').map((e) => e.data.progress)).toEqual([1, 2, 3]);
    expect(seen.at(-1)).toMatchObject({ event: 'result', data: { status: 'completed' } });

    const before = cancellations(cancelLog).length;
    const long = await fetch(`${api}/api/servers/slow/tools/count`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', ...ADMIN_HEADERS },
      body: JSON.stringify({ steps: 200, interval_ms: 100 }),
    });
    const partial = await readEvents(long, (s) => s.some((e) => e.event === 'progress'));
    expect(partial.ended).toBe(false);
    await waitFor(() => cancellations(cancelLog).length > before, 5_000, 'the hang-up to cancel the upstream call');
  });

  it("answers 404 for another caller's job, and 400 for a bad id or Last-Event-ID", async () => {
    const started = await post('/api/servers/everything/tools/echo?mode=async', { message: 'mine' });
    const id = started.body.execution_id as string;
    const key = await post('/api/api-keys', { name: 'other-caller', scopes: ['mcp:read', 'mcp:write'] });
    const other = { 'X-API-Key': key.body.key as string };
    const foreign = await fetch(`${api}/api/executions/${id}/events`, { headers: other });
    expect(foreign.status).toBe(404);
    expect((await post(`/api/executions/${id}/cancel`, {}, other)).status).toBe(404);
    expect((await fetch(`${api}/api/executions/not-a-uuid/events`, { headers: ADMIN_HEADERS })).status).toBe(400);
    const badResume = await events(id, { 'Last-Event-ID': 'abc' });
    expect(badResume.status).toBe(400);
    expect(((await badResume.json()) as Json).error.code).toBe('INVALID_PARAMETERS');
    expect((await post('/api/servers/everything/tools/echo?mode=later', {})).status).toBe(400);
  });

  it('answers an idempotent repeat of an async start with the first execution', async () => {
    const key = { 'Idempotency-Key': 'job-once' };
    const first = await post('/api/servers/everything/tools/echo?mode=async', { message: 'once' }, key);
    expect(first.status).toBe(202);
    await recordOf(first.body.execution_id, 'completed');
    const repeat = await post('/api/servers/everything/tools/echo?mode=async', { message: 'once' }, key);
    expect(repeat.status).toBe(202);
    expect(repeat.body).toMatchObject({ execution_id: first.body.execution_id, status: 'completed' });
    const other = await post('/api/servers/everything/tools/echo?mode=async', { message: 'twice' }, key);
    expect(other.status).toBe(409);
  });

  // Last: it stops the gateway.
  it('marks a job interrupted when the gateway stops, after cancelling it upstream', async () => {
    const started = await post('/api/servers/slow/tools/count?mode=async', { steps: 200, interval_ms: 100 });
    const id = started.body.execution_id as string;
    const before = cancellations(cancelLog).length;
    // One connection that follows the job from before the stop to its end (a second, idle client connection would
    // hold the listener's close for the grace period, which is not what this test is about).
    const seen: SseEvent[] = [];
    let progressed!: () => void;
    const firstProgress = new Promise<void>((resolve) => (progressed = resolve));
    const follower = readEvents(await events(id), (events) => {
      seen.splice(0, seen.length, ...events);
      if (events.some((e) => e.event === 'progress')) progressed();
      return false;
    });
    await firstProgress;
    await gateway.stop();
    const end = await follower;
    expect(end.ended).toBe(true);
    expect(end.events.at(-1)).toMatchObject({ event: 'interrupted', data: { status: 'interrupted' } });
    expect(cancellations(cancelLog).length).toBeGreaterThan(before);
    const pg = new Client({ connectionString: db.url });
    await pg.connect();
    try {
      const { rows } = await pg.query<{ status: string; error: { message: string; reason: string } }>(
        'SELECT status, error FROM executions WHERE id = $1',
        [id],
      );
      expect(rows[0]?.status).toBe('interrupted');
      // Stopped by the gateway, not by its caller: the record and its webhook say which.
      expect(rows[0]?.error.reason).toBe('gateway_shutdown');
      expect(rows[0]?.error.message).not.toMatch(/caller/);
    } finally {
      await pg.end();
    }
  });
});
