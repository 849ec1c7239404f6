import { McpEngine } from 'src/mcp/mcp-engine';
import { ADMIN_HEADERS } from '../support/auth';
import { createTestDatabase, type TestDatabase } from '../support/test-database';
import { startTestGateway, type TestGateway } from '../support/test-gateway';
import { EVERYTHING } from '../support/paths';

// The gateway's upstream sessions declare no client capability here (roots, sampling... are the MCP front door's):
// what this file checks is the raw passthrough of a session that declared none.
const SERVERS_YAML = `mcp:
  endpoint:
    forward-client-capabilities: false
  client:
    default-timeout: 10000
  servers:
    everything:
      type: stdio
      command: node
      args: ["${EVERYTHING}", stdio]
`;

interface RpcBody {
  jsonrpc: string;
  id: string | number;
  result?: Record<string, unknown> & { tools?: { name: string }[]; content?: { text: string }[] };
  error?: { code: number; message: string; data?: unknown };
}
interface Envelope {
  error: {
    code: string;
    message: string;
    request_id: string;
    details: { fields: { field: string; problems: string[] }[] };
  };
}
interface SseEvent {
  event?: string;
  id?: string;
  data?: string;
  comment?: string;
}

/** An open SSE response read with fetch: parsed events as they arrive, and a way to hang up. */
class EventStreamClient {
  readonly events: SseEvent[] = [];
  ended = false;
  private buffer = '';
  private readonly decoder = new TextDecoder();
  private readonly pump: Promise<void>;

  constructor(
    readonly response: Response,
    private readonly controller: AbortController,
  ) {
    const reader = response.body!.getReader();
    this.pump = (async () => {
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          this.buffer += this.decoder.decode(value, { stream: true });
          let end: number;
          while ((end = this.buffer.indexOf('\n\n')) >= 0) {
            const block = this.buffer.slice(0, end);
            this.buffer = this.buffer.slice(end + 2);
            if (block.trim() !== '') this.events.push(parseEvent(block));
          }
        }
      } catch {
        // aborted by close()
      } finally {
        this.ended = true;
      }
    })();
  }

  async waitFor(predicate: (e: SseEvent) => boolean, timeoutMs: number): Promise<SseEvent> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.events.find(predicate);
      if (hit) return hit;
      if (this.ended) throw new Error(`stream ended without the event; got ${JSON.stringify(this.events)}`);
      if (Date.now() > deadline)
        throw new Error(`no such event within ${timeoutMs} ms; got ${JSON.stringify(this.events)}`);
      await sleep(50);
    }
  }

  async close(): Promise<void> {
    this.controller.abort();
    await this.pump;
  }

  finished(): Promise<void> {
    return this.pump;
  }
}

function parseEvent(block: string): SseEvent {
  const event: SseEvent = {};
  for (const line of block.split('\n')) {
    if (line.startsWith(':')) event.comment = line.slice(1).trim();
    const [, field, value] = /^(event|id|data): ?(.*)$/.exec(line) ?? [];
    if (field === 'event' || field === 'id') event[field] = value;
    if (field === 'data') event.data = event.data === undefined ? value : `${event.data}\n${value}`;
  }
  return event;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('raw JSON-RPC messages and the notification stream over a real MCP server', () => {
  let db: TestDatabase;
  let gateway: TestGateway;
  let api: string;
  let engine: McpEngine;

  const send = async (serverId: string, body: unknown) => {
    const res = await fetch(`${api}/api/servers/${serverId}/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...ADMIN_HEADERS },
      body: JSON.stringify(body),
    });
    const text = await res.text();
    return {
      status: res.status,
      headers: res.headers,
      text,
      body: (text ? JSON.parse(text) : undefined) as RpcBody & Envelope,
    };
  };
  const openStream = async (serverId: string, headers: Record<string, string> = {}) => {
    const controller = new AbortController();
    const res = await fetch(`${api}/api/servers/${serverId}/notifications`, {
      headers: { accept: 'text/event-stream', ...ADMIN_HEADERS, ...headers },
      signal: controller.signal,
    });
    return new EventStreamClient(res, controller);
  };
  const listeners = () => engine.listenerCount('server.notification');
  const waitForListeners = async (count: number) => {
    const deadline = Date.now() + 5_000;
    while (listeners() !== count && Date.now() < deadline) await sleep(20);
    return listeners();
  };

  beforeAll(async () => {
    db = await createTestDatabase('rest_messages');
    gateway = await startTestGateway({ databaseUrl: db.url, yaml: SERVERS_YAML });
    api = gateway.addresses.api;
    engine = gateway.api.get(McpEngine);
    const deadline = Date.now() + 30_000;
    for (;;) {
      const body = (await (await fetch(`${api}/api/servers/everything`, { headers: ADMIN_HEADERS })).json()) as {
        status: string;
        capabilities: { tools: number };
      };
      if (body.status === 'active' && body.capabilities.tools > 0) break;
      if (Date.now() > deadline) throw new Error(`server did not become active: ${JSON.stringify(body)}`);
      await sleep(200);
    }
  }, 60_000);

  afterAll(async () => {
    await gateway?.stop();
    await db?.drop();
  });

  describe('POST /api/servers/{id}/messages', () => {
    it('answers a raw tools/list with the upstream result under the caller’s id', async () => {
      const { status, body } = await send('everything', { jsonrpc: '2.0', id: 'req-1', method: 'tools/list' });
      expect(status).toBe(200);
      expect(body.jsonrpc).toBe('2.0');
      expect(body.id).toBe('req-1');
      expect(body.result!.tools!.map((t) => t.name)).toEqual(
        expect.arrayContaining(['echo', 'get-sum', 'toggle-simulated-logging']),
      );
    });

    it('answers ping with an empty result, and a tools/call with the tool result', async () => {
      expect((await send('everything', { jsonrpc: '2.0', id: 7, method: 'ping' })).body).toEqual({
        jsonrpc: '2.0',
        id: 7,
        result: {},
      });
      const echo = await send('everything', {
        jsonrpc: '2.0',
        id: 0,
        method: 'tools/call',
        params: { name: 'echo', arguments: { message: 'hi' } },
      });
      expect(echo.body.id).toBe(0);
      expect(echo.body.result!.content![0]!.text).toBe('Echo: hi');
    });

    it('returns an upstream JSON-RPC error as a JSON-RPC response with HTTP 200', async () => {
      const { status, body } = await send('everything', { jsonrpc: '2.0', id: 3, method: 'no/such/method' });
      expect(status).toBe(200);
      expect(body).toEqual({
        jsonrpc: '2.0',
        id: 3,
        error: { code: -32601, message: expect.stringContaining('Method not found') },
      });
    });

    it('forwards a notification (no id) and answers 202 without a body', async () => {
      const { status, text } = await send('everything', {
        jsonrpc: '2.0',
        method: 'notifications/cancelled',
        params: { requestId: 987654, reason: 'test' },
      });
      expect(status).toBe(202);
      expect(text).toBe('');
      // The session is still fine afterwards.
      expect((await send('everything', { jsonrpc: '2.0', id: 1, method: 'ping' })).body.result).toEqual({});
    });

    it('answers 400 for a notification the gateway session cannot send (capability it did not declare)', async () => {
      const { status, body } = await send('everything', { jsonrpc: '2.0', method: 'notifications/roots/list_changed' });
      expect(status).toBe(400);
      expect(body.error.message).toContain('roots');
    });

    it('refuses initialize and notifications/initialized: the gateway owns the session', async () => {
      for (const method of ['initialize', 'notifications/initialized']) {
        const { status, body } = await send('everything', { jsonrpc: '2.0', id: 1, method, params: {} });
        expect(status).toBe(400);
        expect(body.error.code).toBe('INVALID_PARAMETERS');
        expect(body.error.message).toContain('gateway owns the upstream session');
      }
    });

    it('validates the message: jsonrpc 2.0, method length, id type, params object, no extra fields', async () => {
      const cases: [unknown, string][] = [
        [{ jsonrpc: '1.0', id: 1, method: 'ping' }, 'jsonrpc'],
        [{ jsonrpc: '2.0', id: 1, method: 'x'.repeat(201) }, 'method'],
        [{ jsonrpc: '2.0', id: 1 }, 'method'],
        [{ jsonrpc: '2.0', id: { a: 1 }, method: 'ping' }, 'id'],
        [{ jsonrpc: '2.0', id: 1.5, method: 'ping' }, 'id'],
        [{ jsonrpc: '2.0', id: 1, method: 'ping', params: [1] }, 'params'],
        [{ jsonrpc: '2.0', id: 1, method: 'ping', extra: true }, 'extra'],
      ];
      for (const [message, field] of cases) {
        const { status, body } = await send('everything', message);
        expect(status).toBe(400);
        expect(body.error.details.fields.map((f) => f.field)).toContain(field);
      }
    });

    it('answers an unknown server with the 404 envelope', async () => {
      const { status, headers, body } = await send('nope', { jsonrpc: '2.0', id: 1, method: 'ping' });
      expect(status).toBe(404);
      expect(body.error).toMatchObject({ code: 'RESOURCE_NOT_FOUND', request_id: headers.get('x-request-id') });
    });
  });

  it('documents both routes in the OpenAPI document, saying upstream errors are JSON-RPC responses', async () => {
    const doc = (await (await fetch(`${api}/v3/api-docs`)).json()) as {
      paths: Record<
        string,
        Record<string, { description: string; responses: Record<string, { content?: Record<string, unknown> }> }>
      >;
    };
    const messages = doc.paths['/api/servers/{id}/messages']!.post!;
    expect(messages.description).toContain('HTTP 200');
    expect(Object.keys(messages.responses)).toEqual(
      expect.arrayContaining(['200', '202', '400', '404', '502', '503', '504']),
    );
    const sse = doc.paths['/api/servers/{id}/notifications']!.get!;
    expect(Object.keys(sse.responses['200']!.content!)).toEqual(['text/event-stream']);
  });

  describe('GET /api/servers/{id}/notifications', () => {
    it('streams the upstream notifications as SSE and removes its listener when the client disconnects', async () => {
      const baseline = listeners();
      const stream = await openStream('everything', { 'x-request-id': 'sse-trace-1' });
      expect(stream.response.status).toBe(200);
      expect(stream.response.headers.get('content-type')).toContain('text/event-stream');
      expect(stream.response.headers.get('x-request-id')).toBe('sse-trace-1');
      expect(await waitForListeners(baseline + 1)).toBe(baseline + 1);

      const toggle = {
        jsonrpc: '2.0',
        id: 'toggle',
        method: 'tools/call',
        params: { name: 'toggle-simulated-logging', arguments: {} },
      };
      const started = Date.now();
      expect((await send('everything', toggle)).body.result!.content![0]!.text).toMatch(/^Started simulated/);
      try {
        const event = await stream.waitFor((e) => e.event === 'notifications/message', 10_000);
        expect(Date.now() - started).toBeLessThan(10_000);
        expect(event.id).toBe('1');
        const data = JSON.parse(event.data!) as {
          jsonrpc: string;
          method: string;
          params: { level: string; data: string };
        };
        expect(data).toEqual({
          jsonrpc: '2.0',
          method: 'notifications/message',
          params: { level: expect.any(String), data: expect.stringMatching(/message/) },
        });
      } finally {
        await send('everything', { ...toggle, id: 'toggle-off' });
      }

      await stream.close();
      expect(await waitForListeners(baseline)).toBe(baseline);
    });

    it('fans several streams out from one engine listener and returns to the baseline when all leave', async () => {
      const baseline = listeners();
      const streams = await Promise.all([1, 2, 3].map(() => openStream('everything')));
      expect(await waitForListeners(baseline + 1)).toBe(baseline + 1);
      await Promise.all(streams.map((s) => s.close()));
      expect(await waitForListeners(baseline)).toBe(baseline);
    });

    it('answers an unknown server with the 404 envelope, not a stream', async () => {
      const res = await fetch(`${api}/api/servers/nope/notifications`, { headers: ADMIN_HEADERS });
      expect(res.status).toBe(404);
      expect(res.headers.get('content-type')).toContain('application/json');
      const body = (await res.json()) as Envelope;
      expect(body.error).toMatchObject({ code: 'RESOURCE_NOT_FOUND', request_id: res.headers.get('x-request-id') });
    });

    it('ends open streams first when the gateway stops, instead of holding the shutdown for its grace period', async () => {
      const baseline = listeners();
      const stream = await openStream('everything');
      expect(await waitForListeners(baseline + 1)).toBe(baseline + 1);
      const started = Date.now();
      const stopping = gateway.stop();
      await stream.finished();
      const streamEndedAfter = Date.now() - started;
      await stopping;
      expect(stream.ended).toBe(true);
      // The grace period is 25 s; the stream is ended by the preClose hook before Fastify waits for requests.
      expect(streamEndedAfter).toBeLessThan(2_000);
    });
  });
});
