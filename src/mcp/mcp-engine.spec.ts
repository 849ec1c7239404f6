import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { CallToolRequestSchema, ListToolsRequestSchema, type Progress } from '@modelcontextprotocol/sdk/types.js';
import { serverEntrySchema } from 'src/config/config.schema';
import { EngineErrorCode } from './engine-error';
import { McpEngine } from './mcp-engine';
import type { ServerStatusEvent } from './mcp-engine.events';

/** In-process servers over InMemoryTransport: fast tests of the engine's logic, no processes. */
function inMemoryEngine(keepAlive = 60_000) {
  const servers: Server[] = [];
  const cancelled: unknown[] = [];
  const engine = new McpEngine({
    client: {
      defaultTimeout: 2_000,
      maxConcurrentConnections: 10,
      maxResultSize: 1_000_000,
      retry: { maxAttempts: 3, backoffMultiplier: 2, initialInterval: 10, maxInterval: 100 },
      pool: { coreSize: 1, maxSize: 4, keepAlive, queueCapacity: 10 },
    },
    crashLoop: { maxCrashes: 100, windowMs: 1_000 },
    killChildrenOnExit: false,
    transportFactory: () => {
      const [client, serverSide] = InMemoryTransport.createLinkedPair();
      const server = new Server({ name: 'mem', version: '1' }, { capabilities: { tools: { listChanged: true } } });
      const tools = Array.from({ length: 7 }, (_, i) => ({ name: `t${i}`, inputSchema: { type: 'object' as const } }));
      server.setRequestHandler(ListToolsRequestSchema, (req) => {
        const start = Number(req.params?.cursor ?? 0);
        return {
          tools: tools.slice(start, start + 2),
          ...(start + 2 < tools.length ? { nextCursor: String(start + 2) } : {}),
        };
      });
      server.setRequestHandler(CallToolRequestSchema, async (req, extra) => {
        await Promise.resolve();
        if (req.params.name === 't1') {
          return new Promise((_r, reject) =>
            extra.signal.addEventListener('abort', () => (cancelled.push(extra.requestId), reject(new Error('x')))),
          );
        }
        if (req.params.name === 't2') {
          const token = req.params._meta?.progressToken;
          if (token !== undefined)
            await extra.sendNotification({
              method: 'notifications/progress',
              params: { progressToken: token, progress: 1, total: 2 },
            });
        }
        return { content: [{ type: 'text', text: `called ${req.params.name}` }] };
      });
      servers.push(server);
      void server.connect(serverSide);
      return client;
    },
  });
  return { engine, servers, cancelled };
}

const memEntry = (extra: Record<string, unknown> = {}) =>
  serverEntrySchema.parse({ type: 'http', url: 'http://in-memory.invalid/mcp', ...extra });

describe('McpEngine (InMemoryTransport)', () => {
  it('follows nextCursor pagination and reports progress', async () => {
    const { engine } = inMemoryEngine();
    try {
      await engine.upsertServer('m', memEntry());
      await engine.waitUntilReady('m', 1_000);
      expect(engine.listTools('m').map((t) => t.tool.name)).toEqual(['t0', 't1', 't2', 't3', 't4', 't5', 't6']);
      const progress: Progress[] = [];
      await engine.callTool('m', 't2', {}, { onProgress: (p) => progress.push(p) });
      expect(progress).toEqual([expect.objectContaining({ progress: 1, total: 2 })]);
    } finally {
      await engine.close();
    }
  });

  it('sends notifications/cancelled on timeout', async () => {
    const { engine, cancelled } = inMemoryEngine();
    try {
      await engine.upsertServer('m', memEntry());
      await engine.waitUntilReady('m', 1_000);
      // 300 ms, not less: a timeout that fires before the request has reached the server sends a cancellation the
      // server ignores (it knows no such request yet), which a loaded machine made happen with 50 ms.
      await expect(engine.callTool('m', 't1', {}, { timeoutMs: 300 })).rejects.toMatchObject({
        code: EngineErrorCode.TIMEOUT,
      });
      // The notification crosses the in-memory transport asynchronously: poll (bounded) rather than sleep a guess.
      for (let i = 0; i < 500 && cancelled.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
      expect(cancelled).toHaveLength(1);
    } finally {
      await engine.close();
    }
  });

  it('fails in-flight calls at once on disconnect, reconnects with backoff, and reports status changes', async () => {
    const { engine, servers } = inMemoryEngine();
    const statuses: ServerStatusEvent[] = [];
    engine.on('server.status', (e) => statuses.push(e));
    try {
      await engine.upsertServer('m', memEntry({ poolSize: 2 }));
      await engine.waitUntilReady('m', 1_000);
      const inFlight = engine.callTool('m', 't1', {}, { timeoutMs: 10_000 });
      await new Promise((r) => setTimeout(r, 10));
      await Promise.all(servers.map((s) => s.close()));
      await expect(inFlight).rejects.toMatchObject({ code: EngineErrorCode.CONNECTION_LOST });
      for (let i = 0; i < 100 && engine.getServerState('m').connected < 2; i++)
        await new Promise((r) => setTimeout(r, 10));
      const state = engine.getServerState('m');
      expect(state.connected).toBe(2);
      expect(state.restarts).toBe(2);
      expect(statuses.map((s) => s.status)).toEqual(['active', 'error', 'active']);
    } finally {
      await engine.close();
    }
  });

  it('serializes upserts and removes a server cleanly', async () => {
    const { engine } = inMemoryEngine();
    try {
      await engine.upsertServer('m', memEntry());
      await engine.upsertServer('m', memEntry({ poolSize: 3 }));
      await engine.waitUntilReady('m', 1_000);
      for (let i = 0; i < 100 && engine.getServerState('m').connected < 3; i++)
        await new Promise((r) => setTimeout(r, 10));
      expect(engine.getServerState('m').poolSize).toBe(3);
      await engine.removeServer('m');
      expect(() => engine.getServerState('m')).toThrow(
        expect.objectContaining({ code: EngineErrorCode.SERVER_NOT_FOUND }),
      );
    } finally {
      await engine.close();
    }
  });

  it('closes idle HTTP sessions after keep-alive, keeps one, and reopens them under load', async () => {
    const { engine } = inMemoryEngine(100);
    try {
      await engine.upsertServer('m', memEntry({ poolSize: 3 }));
      await engine.waitUntilReady('m', 1_000);
      for (let i = 0; i < 100 && engine.getServerState('m').connected < 3; i++)
        await new Promise((r) => setTimeout(r, 10));
      expect(engine.getServerState('m').connected).toBe(3);
      for (let i = 0; i < 100 && engine.getServerState('m').connected > 1; i++)
        await new Promise((r) => setTimeout(r, 20));
      expect(engine.getServerState('m').connected).toBe(1);
      expect(engine.getServerState('m').status).toBe('active');
      expect(engine.getServerState('m').restarts).toBe(0);
      // Concurrent load wakes the sleeping slots.
      await Promise.all(Array.from({ length: 20 }, () => engine.callTool('m', 't0', {})));
      for (let i = 0; i < 20 && engine.getServerState('m').connected < 2; i++) await engine.callTool('m', 't0', {});
      expect(engine.getServerState('m').connected).toBeGreaterThanOrEqual(2);
    } finally {
      await engine.close();
    }
  });
});
