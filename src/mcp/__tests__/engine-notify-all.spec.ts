import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { ListToolsRequestSchema, RootsListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { serverEntrySchema } from 'src/config/config.schema';
import { McpEngine } from '../mcp-engine';

describe('McpEngine.notifyAll', () => {
  it('sends a notification to every open member of the pool, not just one', async () => {
    /** roots/list_changed received, per upstream session. */
    const received: number[] = [];
    const engine = new McpEngine({
      client: {
        defaultTimeout: 2_000,
        maxConcurrentConnections: 10,
        maxResultSize: 1_000_000,
        retry: { maxAttempts: 3, backoffMultiplier: 2, initialInterval: 10, maxInterval: 100 },
        pool: { coreSize: 3, maxSize: 3, keepAlive: 60_000, queueCapacity: 10 },
      },
      killChildrenOnExit: false,
      clientCapabilities: { roots: { listChanged: true } },
      transportFactory: () => {
        const [client, serverSide] = InMemoryTransport.createLinkedPair();
        const server = new Server({ name: 'roots', version: '1' }, { capabilities: { tools: {} } });
        const index = received.push(0) - 1;
        server.setRequestHandler(ListToolsRequestSchema, () => ({ tools: [] }));
        server.setNotificationHandler(RootsListChangedNotificationSchema, () => {
          received[index]!++;
        });
        void server.connect(serverSide);
        return client;
      },
    });
    try {
      await engine.upsertServer('s', serverEntrySchema.parse({ type: 'http', url: 'http://in-memory.invalid/mcp' }));
      await engine.waitUntilReady('s', 1_000);
      const deadline = Date.now() + 2_000;
      while (received.length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      expect(received).toHaveLength(3);
      await engine.notifyAll('s', 'notifications/roots/list_changed');
      while (received.some((n) => n === 0) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      expect(received).toEqual([1, 1, 1]);
    } finally {
      await engine.close();
    }
  });
});
