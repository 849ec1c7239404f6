import { Client as ModernClient, StreamableHTTPClientTransport as ModernTransport } from '@modelcontextprotocol/client';
import path from 'node:path';
import { ADMIN_HEADERS } from '../support/auth';
import { REPO } from '../support/paths';
import { createTestDatabase, type TestDatabase } from '../support/test-database';
import { startTestGateway, type TestGateway } from '../support/test-gateway';
import { waitFor } from '../support/wait';
import { readEvents } from './modern-wire';
import { textOf, waitForTools } from './upstreams';

const FIXTURE = path.join(REPO, 'test/fixtures/servers/listen-upstream.js');
const REVISION = '2026-07-28';
const SUBSCRIPTION_ID = 'io.modelcontextprotocol/subscriptionId';
const ENVELOPE = {
  'io.modelcontextprotocol/protocolVersion': REVISION,
  'io.modelcontextprotocol/clientCapabilities': {},
};
/** Listen streams one process serves at once (mcp.endpoint.max-listen-streams), small to test the bound. */
const MAX_STREAMS = 3;

interface Message {
  id?: string | number;
  method?: string;
  params?: Record<string, unknown> & { uri?: string; _meta?: Record<string, unknown> };
  result?: Record<string, unknown>;
  error?: { code: number; message: string };
}

/** One raw `subscriptions/listen` stream: its messages as they arrive. */
interface Stream {
  id: string;
  status: number;
  messages: Message[];
  /** The refusal when the gateway answered with an error instead of a stream. */
  error?: Message['error'];
  /** Resolves when the response ended (the client hung up, or the server closed the stream). */
  ended: Promise<void>;
  /** Hangs up (the client goes away). */
  hangUp(): void;
  notes(method: string): Message[];
}

/**
 * `subscriptions/listen` on the 2026-07-28 front door (issue #13 item 6, ADR 0006): real upstreams over stdio whose
 * tool and prompt lists change and whose resources are updated on demand (listen-upstream.js), listened to by the
 * SDK 2 client and by raw HTTP streams.
 */
describe('subscriptions/listen (MCP 2026-07-28)', () => {
  let db: TestDatabase;
  let gateway: TestGateway;
  /** A second replica on the same database and Redis (the session bus). */
  let replica: TestGateway;
  let base: string;
  let stopped = false;
  let nextId = 1;
  const open: Stream[] = [];

  beforeAll(async () => {
    db = await createTestDatabase('mcp_subscriptions_listen');
    const server = `      type: stdio\n      command: node\n      args: ["${FIXTURE}"]\n`;
    const yaml =
      `mcp:\n  client:\n    default-timeout: 15000\n  endpoint:\n    list-ttl: 0\n` +
      `    max-listen-streams: ${MAX_STREAMS}\n  servers:\n    changer:\n${server}    other:\n${server}`;
    [gateway, replica] = await Promise.all([
      startTestGateway({ databaseUrl: db.url, yaml }),
      startTestGateway({ databaseUrl: db.url, yaml }),
    ]);
    base = gateway.addresses.api;
    await Promise.all([waitForTools(base, ['changer', 'other']), waitForTools(replica.addresses.api, ['changer'])]);
  }, 60_000);

  afterEach(() => {
    for (const s of open.splice(0)) s.hangUp();
  });

  afterAll(async () => {
    if (!stopped) await gateway?.stop();
    await replica?.stop();
    await db?.drop();
  });

  function headers(method: string, key?: string, name?: string): Record<string, string> {
    return {
      'x-api-key': key ?? ADMIN_HEADERS['X-API-Key']!,
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      'mcp-protocol-version': REVISION,
      'mcp-method': method,
      ...(name ? { 'mcp-name': name } : {}),
    };
  }

  /** Opens a listen stream and reads it in the background; resolves once the acknowledgement (or a refusal) came. */
  async function listen(
    route: string,
    notifications: Record<string, unknown>,
    key?: string,
    to: string = base,
  ): Promise<Stream> {
    const id = `listen-${nextId++}`;
    const abort = new AbortController();
    const res = await fetch(`${to}${route}`, {
      method: 'POST',
      headers: headers('subscriptions/listen', key),
      body: JSON.stringify({
        jsonrpc: '2.0',
        id,
        method: 'subscriptions/listen',
        params: { notifications, _meta: ENVELOPE },
      }),
      signal: abort.signal,
    });
    const messages: Message[] = [];
    const stream: Stream = {
      id,
      status: res.status,
      messages,
      ended: Promise.resolve(),
      hangUp: () => abort.abort(),
      notes: (method) => messages.filter((m) => m.method === method),
    };
    if (!(res.headers.get('content-type') ?? '').startsWith('text/event-stream')) {
      stream.error = ((await res.json()) as Message).error;
      return stream;
    }
    open.push(stream);
    stream.ended = readEvents(res, messages);
    await waitFor(() => messages.length > 0, 10_000, `acknowledgement of ${id}`, 20);
    expect(messages[0]).toMatchObject({
      method: 'notifications/subscriptions/acknowledged',
      params: { _meta: { [SUBSCRIPTION_ID]: id } },
    });
    return stream;
  }

  /** A 2026-07-28 tools/call on one server (JSON answer). */
  async function call(server: string, tool: string, args: Record<string, unknown>): Promise<string> {
    const res = await fetch(`${base}/mcp/${server}`, {
      method: 'POST',
      headers: headers('tools/call', undefined, tool),
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: nextId++,
        method: 'tools/call',
        params: { name: tool, arguments: args, _meta: ENVELOPE },
      }),
    });
    const body = (await res.json()) as Message;
    expect(body.error).toBeUndefined();
    return textOf(body.result);
  }

  /** Standalone streams open on the first replica (`mcp_endpoint_streams`: listen streams count there). */
  async function openStreams(): Promise<number> {
    const res = await fetch(`${gateway.addresses.management}/actuator/prometheus`, { headers: ADMIN_HEADERS });
    return Number(/^mcp_endpoint_streams (\d+)/m.exec(await res.text())?.[1]);
  }

  async function createKey(body: Record<string, unknown>): Promise<string> {
    const res = await fetch(`${base}/api/api-keys`, {
      method: 'POST',
      headers: { ...ADMIN_HEADERS, 'content-type': 'application/json' },
      body: JSON.stringify({ name: `listen-${Math.random()}`, ...body }),
    });
    expect(res.status).toBe(201);
    return ((await res.json()) as { key: string }).key;
  }

  it('announces list changes and resource subscriptions in server/discover', async () => {
    const res = await fetch(`${base}/mcp/changer`, {
      method: 'POST',
      headers: headers('server/discover'),
      body: JSON.stringify({ jsonrpc: '2.0', id: nextId++, method: 'server/discover', params: { _meta: ENVELOPE } }),
    });
    const body = (await res.json()) as Message;
    expect(body.result?.capabilities).toMatchObject({
      tools: { listChanged: true },
      prompts: { listChanged: true },
      resources: { subscribe: true, listChanged: true },
    });
  });

  it('tells the SDK 2 client that the upstream added a tool, tagged with its subscription id', async () => {
    const client = new ModernClient(
      { name: 'e2e-listen', version: '1.0.0' },
      { versionNegotiation: { mode: { pin: REVISION } } },
    );
    const changes: Message[] = [];
    client.setNotificationHandler('notifications/tools/list_changed', (n) => {
      changes.push(n as Message);
    });
    let listenId: unknown;
    await client.connect(
      new ModernTransport(new URL(`${base}/mcp/changer`), {
        requestInit: { headers: ADMIN_HEADERS },
        fetch: (url, init) => {
          const body = typeof init?.body === 'string' ? (JSON.parse(init.body) as Message) : undefined;
          if (body?.method === 'subscriptions/listen') listenId = body.id;
          return fetch(url, init);
        },
      }),
    );
    try {
      const subscription = await client.listen({ toolsListChanged: true });
      expect(subscription.honoredFilter).toEqual({ toolsListChanged: true });
      expect(listenId).toBeDefined();
      await client.callTool({ name: 'add_tool', arguments: { name: 'added_for_sdk_client' } });
      await waitFor(() => changes.length > 0, 10_000, 'notifications/tools/list_changed');
      expect(changes[0]!.params?._meta?.[SUBSCRIPTION_ID]).toBe(listenId);
      const { tools } = await client.listTools();
      expect(tools.map((t) => t.name)).toContain('added_for_sdk_client');
      await subscription.close();
      expect(await subscription.closed).toBe('local');
    } finally {
      await client.close();
    }
  }, 30_000);

  it('delivers a resource update to the stream that asked for its URI only, and subscribes upstream for it', async () => {
    const a = await listen('/mcp/changer', { resourceSubscriptions: ['test://listen/a'] });
    const b = await listen('/mcp/changer', { resourceSubscriptions: ['test://listen/b'] });
    expect(a.messages[0]!.params!.notifications).toEqual({ resourceSubscriptions: ['test://listen/a'] });
    // Acknowledged after the upstream subscription was made.
    expect(JSON.parse(await call('changer', 'subscribed', {}))).toEqual(
      expect.arrayContaining(['test://listen/a', 'test://listen/b']),
    );

    expect(await call('changer', 'touch', { uri: 'test://listen/a' })).toBe('sent');
    await waitFor(() => a.notes('notifications/resources/updated').length === 1, 10_000, 'update of a');
    expect(a.notes('notifications/resources/updated')[0]!.params).toMatchObject({
      uri: 'test://listen/a',
      _meta: { [SUBSCRIPTION_ID]: a.id },
    });
    expect(await call('changer', 'touch', { uri: 'test://listen/b' })).toBe('sent');
    await waitFor(() => b.notes('notifications/resources/updated').length === 1, 10_000, 'update of b');
    // Each stream's events arrive in order: had `a`'s update reached `b`, it would have come before this one.
    expect(b.notes('notifications/resources/updated').map((m) => m.params!.uri)).toEqual(['test://listen/b']);
    expect(await call('changer', 'touch', { uri: 'test://listen/a' })).toBe('sent');
    await waitFor(() => a.notes('notifications/resources/updated').length === 2, 10_000, 'second update of a');
    expect(a.notes('notifications/resources/updated').map((m) => m.params!.uri)).toEqual([
      'test://listen/a',
      'test://listen/a',
    ]);
  }, 30_000);

  it('delivers an update the upstream of one replica sends to the listeners of the other replica too (session bus)', async () => {
    expect(process.env.TEST_REDIS_URL).toBeTruthy();
    const uri = 'test://listen/a';
    const here = await listen('/mcp/changer', { resourceSubscriptions: [uri] });
    const there = await listen('/mcp/changer', { resourceSubscriptions: [uri] }, undefined, replica.addresses.api);
    // Each replica has its own upstream process (stdio); only this one's is told to send the update.
    expect(await call('changer', 'touch', { uri })).toBe('sent');
    await waitFor(() => there.notes('notifications/resources/updated').length > 0, 10_000, 'update on the replica');
    expect(there.notes('notifications/resources/updated')[0]!.params).toMatchObject({
      uri,
      _meta: { [SUBSCRIPTION_ID]: there.id },
    });
    await waitFor(() => here.notes('notifications/resources/updated').length > 0, 10_000, 'update here');
  }, 30_000);

  it('subscribes the upstream again when it comes back after a restart', async () => {
    const uri = 'test://listen/b';
    const stream = await listen('/mcp/changer', { resourceSubscriptions: [uri] });
    const restarted = await fetch(`${base}/api/servers/changer/restart`, { method: 'POST', headers: ADMIN_HEADERS });
    expect(restarted.status).toBeLessThan(300);
    // A new upstream process, which knows of no subscription until the gateway makes it again.
    await waitFor(
      async () => (JSON.parse(await call('changer', 'subscribed', {})) as string[]).includes(uri),
      15_000,
      'the subscription made again',
    );
    expect(await call('changer', 'touch', { uri })).toBe('sent');
    await waitFor(() => stream.notes('notifications/resources/updated').length > 0, 10_000, 'update after restart');
  }, 30_000);

  it('tells a caller nothing about a server it may not use', async () => {
    const restricted = await createKey({ scopes: ['mcp:read'], server_ids: ['other'] });
    const forbidden = await fetch(`${base}/mcp/changer`, {
      method: 'POST',
      headers: headers('subscriptions/listen', restricted),
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 'listen-forbidden',
        method: 'subscriptions/listen',
        params: { notifications: { toolsListChanged: true }, _meta: ENVELOPE },
      }),
    });
    expect(forbidden.status).toBe(403);
    await forbidden.body?.cancel();

    const everything = await listen('/mcp', { toolsListChanged: true });
    const limited = await listen('/mcp', { toolsListChanged: true, promptsListChanged: true }, restricted);
    await call('changer', 'add_tool', { name: 'added_where_limited_cannot_see' });
    // (>= 1: the catalog refresh after the restart before may still be told too.)
    await waitFor(() => everything.notes('notifications/tools/list_changed').length >= 1, 10_000, 'tools change');
    // A change it may see, after: once it arrived, anything sent to the stream before it has arrived too.
    await call('other', 'add_prompt', { name: 'seen_by_limited' });
    await waitFor(() => limited.notes('notifications/prompts/list_changed').length >= 1, 10_000, 'prompts change');
    expect(limited.notes('notifications/tools/list_changed')).toEqual([]);
    expect(limited.notes('notifications/prompts/list_changed')[0]!.params).toMatchObject({
      _meta: { [SUBSCRIPTION_ID]: limited.id },
    });
  }, 30_000);

  it('refuses a listen without a filter (invalid params) and one without the envelope (400), opening nothing', async () => {
    const noFilter = await listen('/mcp/changer', undefined as never);
    expect(noFilter.error?.code).toBe(-32602);
    const res = await fetch(`${base}/mcp/changer`, {
      method: 'POST',
      headers: headers('subscriptions/listen'),
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 'listen-no-envelope',
        method: 'subscriptions/listen',
        params: { notifications: { toolsListChanged: true } },
      }),
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as Message).error?.code).toBe(-32602);
  });

  it('bounds the streams of a process, and a client hanging up frees its stream', async () => {
    // Streams of the tests before may still be closing: wait until each slot is free.
    const streams: Stream[] = [];
    for (let i = 0; i < MAX_STREAMS; i++) {
      await waitFor(
        async () => {
          const s = await listen('/mcp/changer', { toolsListChanged: true });
          if (s.error) return false;
          streams.push(s);
          return true;
        },
        10_000,
        `listen stream ${i + 1}`,
      );
    }
    await waitFor(async () => (await openStreams()) === MAX_STREAMS, 10_000, `${MAX_STREAMS} streams counted`);
    const refused = await listen('/mcp/changer', { toolsListChanged: true });
    expect(refused.status).toBe(200);
    expect(refused.error).toEqual({ code: -32603, message: 'Subscription limit reached' });

    streams[0]!.hangUp();
    await streams[0]!.ended;
    await waitFor(async () => (await openStreams()) === MAX_STREAMS - 1, 10_000, 'the stream released');
    await waitFor(
      async () => {
        const s = await listen('/mcp/changer', { toolsListChanged: true });
        return s.error === undefined;
      },
      10_000,
      'a stream after a hang-up',
    );
  }, 30_000);

  it('ends each stream with its final result when the gateway stops', async () => {
    let stream: Stream | undefined;
    await waitFor(
      async () => {
        const s = await listen('/mcp', { toolsListChanged: true });
        if (s.error) return false;
        stream = s;
        return true;
      },
      10_000,
      'a listen stream',
    );
    stopped = true;
    await gateway.stop();
    await stream!.ended;
    expect(stream!.messages.at(-1)).toMatchObject({
      id: stream!.id,
      result: { resultType: 'complete', _meta: { [SUBSCRIPTION_ID]: stream!.id } },
    });
  }, 30_000);
});
