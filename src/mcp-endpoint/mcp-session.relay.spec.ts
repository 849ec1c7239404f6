import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { EventEmitter } from 'node:events';
import type { AppConfig } from 'src/config/config.schema';
import type { McpEngine } from 'src/mcp/mcp-engine';
import type { CatalogView } from './catalog-view';
import type { ClientScope } from './client-scope';
import type { McpEndpointMetrics } from './mcp-endpoint.metrics';
import type { BusMessage, McpSessionBus } from './mcp-session.bus';
import type { McpSession, McpSessionStore } from './mcp-session.store';
import { McpSessionRelay } from './mcp-session.relay';
import { newSessionRecord } from './mcp-sessions.service';

function setup(forward = true) {
  const engine = Object.assign(new EventEmitter(), { notifyAll: jest.fn(() => Promise.resolve()) });
  let onBus: (message: BusMessage) => void = () => undefined;
  const bus = {
    onMessage: jest.fn((handler: (message: BusMessage) => void) => (onBus = handler)),
    publish: jest.fn(() => Promise.resolve()),
  };
  const records = new Map<string, McpSession>();
  const store = { touch: jest.fn((id: string) => Promise.resolve(records.get(id))) };
  const metrics = { streamOpened: jest.fn(), streamClosed: jest.fn() };
  const config = {
    mcp: { endpoint: { forwardClientCapabilities: forward, separator: '__' }, client: { defaultTimeout: 5_000 } },
  } as unknown as AppConfig;
  const relay = new McpSessionRelay(
    config,
    engine as unknown as McpEngine,
    store as unknown as McpSessionStore,
    bus as unknown as McpSessionBus,
    metrics as unknown as McpEndpointMetrics,
  );
  relay.onModuleInit();
  return { relay, engine, bus, store, records, metrics, bus_: (m: BusMessage) => onBus(m) };
}

function scope(session: McpSession | undefined, includes: (id: string) => boolean = () => true, streaming = true) {
  const sent: { message: JSONRPCMessage; related?: unknown }[] = [];
  const s: ClientScope = {
    streaming,
    sessionId: session?.id ?? 'stateless-1',
    session,
    principal: undefined,
    view: { includes, aggregated: true } as unknown as CatalogView,
    signal: new AbortController().signal,
    send: (message, related) => {
      sent.push({ message, related });
      return Promise.resolve();
    },
  };
  return { scope: s, sent };
}

const withSampling = (id: string) =>
  newSessionRecord(id, undefined, '*', {
    protocolVersion: '2025-11-25',
    capabilities: { sampling: {} },
    clientInfo: { name: 'c', version: '1' },
  });

describe('McpSessionRelay', () => {
  it("sends an upstream's sampling request on the call's stream and settles it with the client's answer", async () => {
    const { relay } = setup();
    const { scope: s, sent } = scope(withSampling('s1'));
    const answer = relay.askClient(s, 7, 'sampling/createMessage', { messages: [] }, new AbortController().signal);
    await new Promise((r) => setImmediate(r));
    expect(sent).toHaveLength(1);
    const request = sent[0]!.message as { id: string; method: string };
    expect(request.method).toBe('sampling/createMessage');
    expect(request.id).toMatch(/^globalmcp-/);
    expect(sent[0]!.related).toBe(7);
    await relay.deliver('s1', '*', [{ jsonrpc: '2.0', id: request.id, result: { content: 'hi' } }]);
    await expect(answer).resolves.toEqual({ content: 'hi' });
  });

  it('answers roots/list with no roots, and refuses other requests, of a client that did not declare them', async () => {
    const { relay } = setup();
    const { scope: s, sent } = scope(undefined);
    const signal = new AbortController().signal;
    await expect(relay.askClient(s, 1, 'roots/list', undefined, signal)).resolves.toEqual({ roots: [] });
    await expect(relay.askClient(s, 1, 'elicitation/create', {}, signal)).rejects.toMatchObject({ code: -32600 });
    expect(sent).toHaveLength(0);
  });

  it('gives a session origin the answering role only when forwarding is on and the client declared a capability', () => {
    expect(setup().relay.origin(scope(withSampling('s1')).scope, 1)).toMatchObject({ group: 's1', answers: true });
    expect(setup().relay.origin(scope(undefined).scope, 1).answers).toBe(false);
    expect(setup(false).relay.origin(scope(withSampling('s1')).scope, 1).answers).toBe(false);
  });

  it('cancels a call running here, and asks the other replicas for one that is not', async () => {
    const { relay, bus } = setup();
    const { scope: s } = scope(withSampling('s1'));
    const tracked = relay.track(s, 5, new AbortController().signal);
    const cancel = (requestId: number): JSONRPCMessage => ({
      jsonrpc: '2.0',
      method: 'notifications/cancelled',
      params: { requestId, reason: 'user' },
    });
    await relay.deliver('s1', '*', [cancel(5)]);
    expect(tracked.signal.aborted).toBe(true);
    expect(bus.publish).not.toHaveBeenCalled();
    await relay.deliver('s1', '*', [cancel(6)]);
    expect(bus.publish).toHaveBeenCalledWith({ kind: 'cancel', sessionId: 's1', requestId: 6, reason: 'user' });
    // An answer nobody here waits for goes to the other replicas too.
    await relay.deliver('s1', '*', [{ jsonrpc: '2.0', id: 'globalmcp-x', result: {} }]);
    expect(bus.publish).toHaveBeenLastCalledWith({
      kind: 'response',
      sessionId: 's1',
      message: { jsonrpc: '2.0', id: 'globalmcp-x', result: {} },
    });
    tracked.done();
  });

  it('tells every pooled upstream of the view when the client says its roots changed', async () => {
    const { relay, engine } = setup();
    await relay.deliver('s1', 'toolbox', [{ jsonrpc: '2.0', method: 'notifications/roots/list_changed' }]);
    expect(engine.notifyAll).toHaveBeenCalledWith('toolbox', 'notifications/roots/list_changed');
  });

  it('broadcasts list_changed to the open streams whose view has the server, once per method', () => {
    const { relay, engine, metrics } = setup();
    const a = scope(withSampling('a'), (id) => id === 'toolbox');
    const b = scope(withSampling('b'), (id) => id === 'other');
    relay.openStream(a.scope, () => undefined);
    relay.openStream(b.scope, () => undefined);
    expect(metrics.streamOpened).toHaveBeenCalledTimes(2);
    engine.emit('catalog.changed', { serverId: 'toolbox', kinds: ['resources', 'resourceTemplates', 'tools'] });
    expect(a.sent.map((m) => (m.message as { method: string }).method)).toEqual([
      'notifications/resources/list_changed',
      'notifications/tools/list_changed',
    ]);
    expect(b.sent).toHaveLength(0);
  });

  it('forwards log messages at or above the session level, named by server on the aggregated view', async () => {
    const { relay, engine, records } = setup();
    const session = { ...withSampling('s1'), logLevel: 'warning' as const };
    records.set('s1', session);
    const { scope: s, sent } = scope(session);
    relay.openStream(s, () => undefined);
    const log = (level: string) =>
      engine.emit('server.notification', {
        serverId: 'toolbox',
        notification: { method: 'notifications/message', params: { level, data: level, logger: 'db' } },
        origin: undefined,
      });
    log('info');
    log('error');
    await new Promise((r) => setImmediate(r));
    expect(sent.map((m) => m.message)).toEqual([
      {
        jsonrpc: '2.0',
        method: 'notifications/message',
        params: { level: 'error', data: 'error', logger: 'toolbox/db' },
      },
    ]);
  });

  it('acts on what the bus brings: ended streams close, legacy messages reach the connection held here', () => {
    const { relay, bus_ } = setup();
    const close = jest.fn();
    const stream = relay.openStream(scope(withSampling('s1')).scope, close);
    const inbox = jest.fn();
    const release = relay.holdLegacy('legacy-1', inbox);
    const message: JSONRPCMessage = { jsonrpc: '2.0', id: 1, method: 'tools/list' };
    bus_({ kind: 'legacy', sessionId: 'legacy-1', message });
    bus_({ kind: 'ended', sessionId: 's1' });
    expect(inbox).toHaveBeenCalledWith(message);
    expect(close).toHaveBeenCalledTimes(1);
    release();
    bus_({ kind: 'legacy', sessionId: 'legacy-1', message });
    expect(inbox).toHaveBeenCalledTimes(1);
    relay.streamClosed(stream);
    expect(relay.streamOf('s1')).toBeUndefined();
  });

  it('sends resources/updated only to the local streams of sessions subscribed to the URI', async () => {
    const { relay, bus_, records } = setup();
    const subscribed = { ...withSampling('a'), subscriptions: ['file:///x'] };
    records.set('a', subscribed);
    records.set('b', withSampling('b'));
    const a = scope(subscribed);
    const b = scope(withSampling('b'));
    relay.openStream(a.scope, () => undefined);
    relay.openStream(b.scope, () => undefined);
    bus_({
      kind: 'notify',
      serverId: 'toolbox',
      notification: { method: 'notifications/resources/updated', params: { uri: 'file:///x' } },
    });
    await new Promise((r) => setImmediate(r));
    expect(a.sent).toHaveLength(1);
    expect(b.sent).toHaveLength(0);
  });
});
