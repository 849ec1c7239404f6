import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import type { AppConfig } from 'src/config/config.schema';
import type { UpstreamCredential } from 'src/calls/stages/upstream-credential';
import type { McpEngine } from 'src/mcp/mcp-engine';
import type { CatalogView } from './catalog-view';
import type { ClientScope } from './client-scope';
import { McpServerFactory } from './mcp-server.factory';
import type { McpSessionRelay } from './mcp-session.relay';
import type { McpSession } from './mcp-session.store';
import { type McpSessions, newSessionRecord } from './mcp-sessions.service';
import type { ToolCallBridge } from './tool-call.bridge';

function setup(capabilities: Record<string, unknown>) {
  const engine = {
    getServerState: jest.fn(() => ({ serverInfo: { name: 'toolbox', version: '9.9.9' } })),
    getServerInstructions: jest.fn(() => 'use me'),
    readResource: jest.fn(() => Promise.resolve({ contents: [{ uri: 'file:///a', text: 'A' }] })),
    getPrompt: jest.fn(() => Promise.resolve({ messages: [] })),
    request: jest.fn((_server: string, method: string) =>
      Promise.resolve(method === 'completion/complete' ? { completion: { values: ['x'] } } : {}),
    ),
  };
  const relay = {
    origin: jest.fn(() => ({ group: 's1', answers: false })),
    track: jest.fn((_scope: ClientScope, _id: unknown, signal: AbortSignal) => ({ signal, done: jest.fn() })),
  };
  const session: McpSession = newSessionRecord('s1', undefined, 'toolbox', undefined);
  const sessions = {
    edit: jest.fn((scope: ClientScope, edit: (s: McpSession) => void) => {
      edit(session);
      return Promise.resolve();
    }),
  };
  const toolCalls = { callTool: jest.fn(() => Promise.resolve({ content: [{ type: 'text', text: 'done' }] })) };
  const view = {
    aggregated: false,
    view: 'toolbox',
    capabilities: () => ({ tools: { listChanged: true }, logging: {}, ...capabilities }),
    tools: () => [{ name: 'echo', inputSchema: { type: 'object' } }],
    resources: () => [{ uri: 'file:///a', name: 'a' }],
    resourceTemplates: () => [],
    prompts: () => [{ name: 'greet' }],
    resolveName: (name: string) => ({ serverId: 'toolbox', name }),
    identity: () => undefined,
    resolveUri: (uri: string) => ({ serverId: 'toolbox', name: uri }),
  };
  const scope: ClientScope = {
    streaming: false,
    sessionId: 's1',
    session,
    principal: undefined,
    view: view as unknown as CatalogView,
    signal: new AbortController().signal,
    send: () => Promise.resolve(),
  };
  const factory = new McpServerFactory(
    { mcp: { endpoint: { separator: '__' } } } as unknown as AppConfig,
    engine as unknown as McpEngine,
    relay as unknown as McpSessionRelay,
    sessions as unknown as McpSessions,
    toolCalls as unknown as ToolCallBridge,
    { forServer: () => Promise.resolve(undefined) } as unknown as UpstreamCredential,
  );
  return { factory, scope, engine, relay, sessions, toolCalls, session };
}

async function connect(factory: McpServerFactory, scope: ClientScope): Promise<Client> {
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await factory.build(scope).connect(serverSide);
  const client = new Client({ name: 'unit', version: '1.0.0' });
  await client.connect(clientSide);
  return client;
}

describe('McpServerFactory', () => {
  it('presents one server as itself and routes each method to its named handler', async () => {
    const { factory, scope, engine, toolCalls, relay } = setup({
      resources: { subscribe: true },
      prompts: {},
      completions: {},
    });
    const client = await connect(factory, scope);
    expect(client.getServerVersion()).toEqual({ name: 'toolbox', version: '9.9.9' });
    expect(client.getInstructions()).toBe('use me');
    expect((await client.listTools()).tools.map((t) => t.name)).toEqual(['echo']);
    expect(await client.callTool({ name: 'echo', arguments: { a: 1 } })).toEqual({
      content: [{ type: 'text', text: 'done' }],
    });
    expect(toolCalls.callTool).toHaveBeenCalledWith(
      scope,
      { name: 'echo', arguments: { a: 1 } },
      expect.objectContaining({ requestId: expect.anything() as unknown }),
    );
    expect((await client.readResource({ uri: 'file:///a' })).contents).toHaveLength(1);
    expect(engine.readResource).toHaveBeenCalledWith('toolbox', 'file:///a', expect.anything());
    await client.getPrompt({ name: 'greet', arguments: { who: 'me' } });
    expect(engine.getPrompt).toHaveBeenCalledWith('toolbox', 'greet', { who: 'me' }, expect.anything());
    const completion = await client.complete({
      ref: { type: 'ref/prompt', name: 'greet' },
      argument: { name: 'who', value: 'm' },
    });
    expect(completion.completion.values).toEqual(['x']);
    // Every upstream request of a client request is tracked (cancellable) and carries the session's origin.
    expect(relay.track).toHaveBeenCalledTimes(3);
    expect(relay.origin).toHaveBeenCalledTimes(3);
    await client.close();
  });

  it('keeps subscriptions and the log level in the session record', async () => {
    const { factory, scope, engine, session } = setup({ resources: { subscribe: true } });
    const client = await connect(factory, scope);
    await client.subscribeResource({ uri: 'file:///a' });
    await client.subscribeResource({ uri: 'file:///a' });
    expect(engine.request).toHaveBeenCalledWith(
      'toolbox',
      'resources/subscribe',
      { uri: 'file:///a' },
      expect.anything(),
    );
    expect(session.subscriptions).toEqual(['file:///a']);
    await client.unsubscribeResource({ uri: 'file:///a' });
    expect(session.subscriptions).toEqual([]);
    await client.setLoggingLevel('error');
    expect(session.logLevel).toBe('error');
    await client.close();
  });

  it('offers no resource, prompt or completion methods the view does not announce', async () => {
    const { factory, scope } = setup({});
    const client = await connect(factory, scope);
    await expect(client.listPrompts()).rejects.toMatchObject({ code: -32601 });
    await expect(client.readResource({ uri: 'file:///a' })).rejects.toMatchObject({ code: -32601 });
    await client.close();
  });

  it('turns an upstream failure into a JSON-RPC error', async () => {
    const { factory, scope, engine } = setup({ prompts: {} });
    engine.getPrompt.mockRejectedValueOnce(new Error('boom'));
    const client = await connect(factory, scope);
    await expect(client.getPrompt({ name: 'greet' })).rejects.toMatchObject({ code: -32603 });
    await client.close();
  });
});
