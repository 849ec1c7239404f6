import { serverEntrySchema } from 'src/config/config.schema';
import type { CallOrigin } from './call-origin';
import { ModernSession, type ModernSessionOptions } from './modern-session';

/** The SDK 2 client, mocked: what ModernSession sends and what it makes of the answers. */
const fake = {
  connect: jest.fn<Promise<void>, unknown[]>(),
  request: jest.fn<Promise<unknown>, [{ method: string; params?: Record<string, unknown> }, unknown, unknown]>(),
  discover: jest.fn<Promise<unknown>, unknown[]>(),
  listen: jest.fn<Promise<unknown>, unknown[]>(),
  notification: jest.fn<Promise<void>, unknown[]>(),
  close: jest.fn<Promise<void>, unknown[]>(),
  capabilities: {} as Record<string, unknown>,
};

jest.mock('@modelcontextprotocol/client', () => {
  const actual = jest.requireActual<Record<string, unknown>>('@modelcontextprotocol/client');
  class Client {
    fallbackNotificationHandler: unknown;
    onerror: unknown;
    connect = (...a: unknown[]) => fake.connect(...a);
    request = (r: never, s: never, o: never) => fake.request(r, s, o);
    discover = (...a: unknown[]) => fake.discover(...a);
    listen = (...a: unknown[]) => fake.listen(...a);
    notification = (...a: unknown[]) => fake.notification(...a);
    close = (...a: unknown[]) => fake.close(...a);
    getServerCapabilities = () => fake.capabilities;
    getNegotiatedProtocolVersion = () => '2026-07-28';
    getServerVersion = () => ({ name: 'up', version: '1' });
    getInstructions = () => undefined;
  }
  return { ...actual, Client };
});

const options = (): ModernSessionOptions => ({
  serverId: 'up',
  entry: serverEntrySchema.parse({ type: 'http', url: 'http://127.0.0.1:1/mcp' }),
  clientInfo: { name: 'gw', version: '1' },
  capabilities: { elicitation: {}, sampling: {}, roots: {} },
  timeoutMs: 1_000,
  onNotification: jest.fn(),
  onError: jest.fn(),
  onListenEnded: jest.fn(),
});
const schema = { '~standard': { version: 1, vendor: 'test', validate: (v: unknown) => ({ value: v }) } } as never;
const answering = (answer: (method: string) => unknown): CallOrigin => ({
  group: 'session',
  answers: true,
  request: (method) => Promise.resolve(answer(method)),
});

describe('ModernSession (an upstream that speaks 2026-07-28)', () => {
  beforeEach(() => {
    jest.clearAllMocks();
    fake.capabilities = {};
    fake.connect.mockResolvedValue(undefined);
    fake.close.mockResolvedValue(undefined);
  });

  it('is no session when the upstream does not offer the revision (the connection falls back to initialize)', async () => {
    fake.connect.mockRejectedValue(new Error('the server did not offer pinned protocol version 2026-07-28'));
    await expect(ModernSession.open(options())).resolves.toBeUndefined();
    expect(fake.close).toHaveBeenCalled();
  });

  it("answers input_required through the call's origin and retries with inputResponses and the requestState", async () => {
    const session = (await ModernSession.open(options()))!;
    fake.request
      .mockResolvedValueOnce({
        resultType: 'input_required',
        inputRequests: { name: { method: 'elicitation/create', params: { message: 'Name?' } } },
        requestState: 'opaque-1',
      })
      .mockResolvedValueOnce({
        content: [{ type: 'text', text: 'hello Ada' }],
        _meta: { 'io.modelcontextprotocol/serverInfo': {} },
      });
    const origin = answering(() => ({ action: 'accept', content: { name: 'Ada' } }));
    const result = await session.request('tools/call', { name: 'ask', arguments: {} }, schema, {
      timeoutMs: 1_000,
      origin,
    });
    // The serverInfo stamp is the revision's envelope, not the result.
    expect(result).toEqual({ content: [{ type: 'text', text: 'hello Ada' }] });
    const [first, retry] = fake.request.mock.calls.map(([r]) => r.params!);
    expect(first!._meta).toMatchObject({
      'io.modelcontextprotocol/logLevel': 'debug',
      'io.modelcontextprotocol/clientCapabilities': { elicitation: {}, sampling: {}, roots: {} },
    });
    expect(retry).toMatchObject({
      name: 'ask',
      inputResponses: { name: { action: 'accept', content: { name: 'Ada' } } },
      requestState: 'opaque-1',
    });
    expect(fake.request.mock.calls[0]![2]).toMatchObject({ allowInputRequired: true });
  });

  it("tells which call a message on a response stream belongs to (the call's origin), and none outside a call", async () => {
    const opts = options();
    const session = (await ModernSession.open(opts))!;
    const handler = () =>
      (session as unknown as { client: { fallbackNotificationHandler: (n: unknown) => Promise<void> } }).client
        .fallbackNotificationHandler;
    fake.request.mockImplementation(async () => {
      // As the SDK does when it reads the call's response stream: within the call's exchange.
      await handler()({ method: 'notifications/message', params: { data: 'step' } });
      return { content: [] };
    });
    const origin = answering(() => ({}));
    await session.request('tools/call', { name: 't' }, schema, { timeoutMs: 1_000, origin });
    await handler()({ method: 'notifications/tools/list_changed' });
    expect(opts.onNotification).toHaveBeenNthCalledWith(
      1,
      expect.objectContaining({ method: 'notifications/message' }),
      {
        origin,
      },
    );
    expect(opts.onNotification).toHaveBeenNthCalledWith(2, expect.anything(), undefined);
  });

  it('declares no client capabilities for a call nobody answers, and the origin’s own when it knows them', async () => {
    const session = (await ModernSession.open(options()))!;
    fake.request.mockResolvedValue({ content: [] });
    await session.request('tools/call', { name: 't' }, schema, { timeoutMs: 1_000 });
    const own: CallOrigin = { ...answering(() => ({})), clientCapabilities: { roots: {} } };
    await session.request('tools/call', { name: 't' }, schema, { timeoutMs: 1_000, origin: own });
    const metas = fake.request.mock.calls.map(([r]) => r.params!._meta as Record<string, unknown>);
    expect(metas[0]!['io.modelcontextprotocol/clientCapabilities']).toEqual({});
    expect(metas[1]!['io.modelcontextprotocol/clientCapabilities']).toEqual({ roots: {} });
  });

  it('gives up on an upstream that keeps asking (bounded rounds)', async () => {
    const session = (await ModernSession.open(options()))!;
    fake.request.mockResolvedValue({ resultType: 'input_required', inputRequests: { r: { method: 'roots/list' } } });
    await expect(
      session.request('tools/call', { name: 't' }, schema, {
        timeoutMs: 1_000,
        origin: answering(() => ({ roots: [] })),
      }),
    ).rejects.toThrow(/still asked for input after 10 rounds/);
    expect(fake.request).toHaveBeenCalledTimes(11);
  });

  it('answers ping by a server/discover round trip and drops roots/list_changed (gone from the revision)', async () => {
    const session = (await ModernSession.open(options()))!;
    fake.discover.mockResolvedValue({ supportedVersions: ['2026-07-28'] });
    await expect(session.request('ping', undefined, schema, { timeoutMs: 1_000 })).resolves.toEqual({});
    expect(fake.discover).toHaveBeenCalledTimes(1);
    await session.notify({ method: 'notifications/roots/list_changed' });
    expect(fake.notification).not.toHaveBeenCalled();
  });

  it('subscribes to a resource with a listen stream of its own, once per URI, and closes it on unsubscribe', async () => {
    fake.capabilities = { resources: { subscribe: true } };
    const close = jest.fn(() => Promise.resolve());
    fake.listen.mockResolvedValue({ closed: new Promise(() => undefined), close });
    const session = (await ModernSession.open(options()))!;
    await session.request('resources/subscribe', { uri: 'a://1' }, schema, { timeoutMs: 1_000 });
    await session.request('resources/subscribe', { uri: 'a://1' }, schema, { timeoutMs: 1_000 });
    expect(fake.listen).toHaveBeenCalledTimes(1);
    expect(fake.listen).toHaveBeenCalledWith({ resourceSubscriptions: ['a://1'] }, expect.anything());
    await session.request('resources/unsubscribe', { uri: 'a://1' }, schema, { timeoutMs: 1_000 });
    expect(close).toHaveBeenCalledTimes(1);
    expect(fake.request).not.toHaveBeenCalled();
  });

  it('refuses a resource subscription the upstream does not offer (method not found)', async () => {
    const session = (await ModernSession.open(options()))!;
    await expect(
      session.request('resources/subscribe', { uri: 'a://1' }, schema, { timeoutMs: 1_000 }),
    ).rejects.toMatchObject({ code: -32601 });
  });

  it('listens for the list changes the upstream announces and reports the stream ending unasked', async () => {
    fake.capabilities = { tools: { listChanged: true }, prompts: {} };
    let end!: (how: string) => void;
    fake.listen.mockResolvedValue({ closed: new Promise((r) => (end = r)), close: () => Promise.resolve() });
    const opts = options();
    await ModernSession.open(opts);
    expect(fake.listen).toHaveBeenCalledWith({ toolsListChanged: true }, expect.anything());
    end('remote');
    await new Promise((r) => setImmediate(r));
    expect(opts.onListenEnded).toHaveBeenCalledWith('remote');
  });
});
