import type { Principal } from 'src/auth/principal';
import { AppException } from 'src/common/errors/app.exception';
import type { AppConfig } from 'src/config/config.schema';
import type { McpEngine } from 'src/mcp/mcp-engine';
import type { McpEndpointMetrics } from './mcp-endpoint.metrics';
import type { McpSessionBus } from './mcp-session.bus';
import type { McpSession, McpSessionStore } from './mcp-session.store';
import type { PolicyService } from 'src/policy/policy.service';
import { McpSessions, newSessionRecord } from './mcp-sessions.service';

const alice: Principal = {
  kind: 'api-key',
  id: 'alice',
  subject: 'alice',
  scopes: new Set(),
  servers: null,
  tier: null,
};
const init = {
  protocolVersion: '2025-11-25',
  capabilities: { sampling: {} },
  clientInfo: { name: 'e2e', version: '1.0.0' },
};

function setup() {
  const records = new Map<string, McpSession>();
  const store = {
    create: jest.fn((s: McpSession) => {
      if (records.size >= 1) return Promise.resolve(false);
      records.set(s.id, s);
      return Promise.resolve(true);
    }),
    touch: jest.fn((id: string) => Promise.resolve(records.get(id))),
    update: jest.fn((s: McpSession) => {
      records.set(s.id, structuredClone(s));
      return Promise.resolve();
    }),
    delete: jest.fn((id: string) => Promise.resolve(records.delete(id))),
    count: jest.fn(() => Promise.resolve(records.size)),
  };
  const bus = { publish: jest.fn(() => Promise.resolve()) };
  const metrics = { sessionOpened: jest.fn(), sessions: jest.fn(), placementWait: jest.fn() };
  const engine = { on: jest.fn() };
  const config = { mcp: { endpoint: { maxSessions: 1, separator: '__' } } } as unknown as AppConfig;
  const sessions = new McpSessions(
    config,
    engine as unknown as McpEngine,
    store as unknown as McpSessionStore,
    bus as unknown as McpSessionBus,
    metrics as unknown as McpEndpointMetrics,
    { permits: () => true } as unknown as PolicyService,
  );
  return { sessions, store, bus, metrics, records };
}

describe('newSessionRecord', () => {
  it('takes the client from initialize, and starts with no level and no subscriptions', () => {
    expect(newSessionRecord('s1', alice, 'toolbox', init, 42)).toEqual({
      id: 's1',
      principalId: 'alice',
      view: 'toolbox',
      protocolVersion: '2025-11-25',
      clientInfo: init.clientInfo,
      clientCapabilities: { sampling: {} },
      logLevel: null,
      subscriptions: [],
      createdAt: 42,
    });
  });

  it('records an anonymous owner and an unknown client until a legacy initialize arrives', () => {
    expect(newSessionRecord('s2', undefined, '*', undefined, 1)).toMatchObject({
      principalId: 'anonymous',
      protocolVersion: '',
      clientInfo: null,
      clientCapabilities: {},
    });
  });
});

describe('McpSessions', () => {
  it('opens a session (counted), then refuses with 503 beyond max-sessions', async () => {
    const { sessions, metrics } = setup();
    const session = await sessions.open(alice, '*', init);
    expect(session.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(metrics.sessionOpened).toHaveBeenCalledTimes(1);
    const refused = await sessions.open(alice, '*', init).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(AppException);
    expect((refused as AppException).status).toBe(503);
    expect((refused as AppException).details).toEqual({ max_sessions: 1 });
  });

  it('keeps the id a legacy transport chose', async () => {
    const { sessions } = setup();
    expect((await sessions.open(alice, '*', undefined, 'legacy-id')).id).toBe('legacy-id');
  });

  it('finds a session only for its principal and endpoint (404 otherwise)', async () => {
    const { sessions } = setup();
    const session = await sessions.open(alice, 'toolbox', init);
    await expect(sessions.find(session.id, alice, 'toolbox')).resolves.toMatchObject({ id: session.id });
    for (const [principal, view] of [
      [undefined, 'toolbox'],
      [alice, '*'],
    ] as const) {
      const error = await sessions.find(session.id, principal, view).catch((e: unknown) => e);
      expect((error as AppException).status).toBe(404);
    }
    expect(((await sessions.find('nope', alice, 'toolbox').catch((e: unknown) => e)) as AppException).status).toBe(404);
  });

  it('ends a session and tells every replica', async () => {
    const { sessions, bus, records } = setup();
    const session = await sessions.open(alice, '*', init);
    await sessions.end(session.id, alice, '*');
    expect(records.size).toBe(0);
    expect(bus.publish).toHaveBeenCalledWith({ kind: 'ended', sessionId: session.id });
  });

  it('edits the fresh record of a scope and keeps the scope in step', async () => {
    const { sessions, records } = setup();
    const session = await sessions.open(alice, '*', init);
    const scope = sessions.scope({
      session,
      principal: alice,
      view: '*',
      streaming: false,
      signal: new AbortController().signal,
      send: () => Promise.resolve(),
    });
    // Another request of the session subscribed meanwhile (its record changed in the store).
    records.set(session.id, { ...session, subscriptions: ['a://x'] });
    await sessions.edit(scope, (s) => s.subscriptions.push('b://y'));
    expect(records.get(session.id)?.subscriptions).toEqual(['a://x', 'b://y']);
    expect(scope.session?.subscriptions).toEqual(['a://x', 'b://y']);
  });

  it('builds a scope: the session id, or a one-off id without a session; the view filtered by the allow-list', () => {
    const { sessions } = setup();
    const base = { principal: alice, view: 'toolbox', streaming: true, signal: new AbortController().signal };
    const send = () => Promise.resolve();
    const withSession = sessions.scope({ ...base, session: newSessionRecord('s1', alice, 'toolbox', init), send });
    expect(withSession.sessionId).toBe('s1');
    expect(withSession.view.view).toBe('toolbox');
    const stateless = sessions.scope({ ...base, session: undefined, send });
    expect(stateless.sessionId).toMatch(/^stateless-/);
    expect(sessions.scope({ ...base, session: undefined, sessionId: 'given', send }).sessionId).toBe('given');
  });
});
