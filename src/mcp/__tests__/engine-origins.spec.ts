import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import {
  CallToolRequestSchema,
  CreateMessageResultSchema,
  ListRootsResultSchema,
  ListToolsRequestSchema,
  type CallToolResult,
} from '@modelcontextprotocol/sdk/types.js';
import { serverEntrySchema } from 'src/config/config.schema';
import { type CallOrigin, McpEngine } from '../mcp-engine';

/**
 * Server-to-client requests of an upstream (sampling, roots) answered by the origin of the call in flight: one
 * in-process server over InMemoryTransport, one connection (pool size 1), so every call shares it.
 */
function engineWithSamplingServer() {
  let release: (() => void) | undefined;
  const engine = new McpEngine({
    client: {
      defaultTimeout: 2_000,
      maxConcurrentConnections: 10,
      maxResultSize: 1_000_000,
      retry: { maxAttempts: 3, backoffMultiplier: 2, initialInterval: 10, maxInterval: 100 },
      pool: { coreSize: 1, maxSize: 1, keepAlive: 60_000, queueCapacity: 10 },
    },
    killChildrenOnExit: false,
    clientCapabilities: { sampling: {}, roots: { listChanged: true } },
    transportFactory: () => {
      const [client, serverSide] = InMemoryTransport.createLinkedPair();
      const server = new Server({ name: 'sampler', version: '1' }, { capabilities: { tools: {} } });
      server.setRequestHandler(ListToolsRequestSchema, () => ({
        tools: ['sample', 'roots', 'wait'].map((name) => ({ name, inputSchema: { type: 'object' as const } })),
      }));
      server.setRequestHandler(CallToolRequestSchema, async (req, extra): Promise<CallToolResult> => {
        if (req.params.name === 'wait') {
          await new Promise<void>((resolve) => (release = resolve));
          return { content: [{ type: 'text', text: 'waited' }] };
        }
        try {
          const text =
            req.params.name === 'sample'
              ? JSON.stringify(
                  await extra.sendRequest(
                    { method: 'sampling/createMessage', params: { messages: [], maxTokens: 1 } },
                    CreateMessageResultSchema,
                  ),
                )
              : JSON.stringify(await extra.sendRequest({ method: 'roots/list' }, ListRootsResultSchema));
          return { content: [{ type: 'text', text }] };
        } catch (error) {
          return { isError: true, content: [{ type: 'text', text: (error as Error).message }] };
        }
      });
      void server.connect(serverSide);
      return client;
    },
  });
  return { engine, release: () => release?.() };
}

const entry = serverEntrySchema.parse({ type: 'http', url: 'http://in-memory.invalid/mcp' });

/** An origin that answers sampling with its own name, roots with one root, and counts what it was asked. */
function origin(name: string): CallOrigin & { asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    request: (method) => {
      asked.push(method);
      return Promise.resolve(
        method === 'roots/list'
          ? { roots: [{ uri: `file:///${name}` }] }
          : { model: name, role: 'assistant', content: { type: 'text', text: `from ${name}` } },
      );
    },
  };
}

const textOf = (r: CallToolResult) => (r.content[0] as { text: string }).text;

describe('McpEngine: server-to-client requests routed to the origin of the call', () => {
  it('answers with the one origin in flight on the connection', async () => {
    const { engine } = engineWithSamplingServer();
    try {
      await engine.upsertServer('s', entry);
      await engine.waitUntilReady('s', 1_000);
      const alice = origin('alice');
      const result = await engine.callTool('s', 'sample', {}, { origin: alice });
      expect(textOf(result)).toContain('from alice');
      expect(alice.asked).toEqual(['sampling/createMessage']);
    } finally {
      await engine.close();
    }
  });

  it('refuses to guess when calls of two origins are in flight on the connection', async () => {
    const { engine, release } = engineWithSamplingServer();
    try {
      await engine.upsertServer('s', entry);
      await engine.waitUntilReady('s', 1_000);
      const bob = origin('bob');
      const carol = origin('carol');
      const waiting = engine.callTool('s', 'wait', {}, { origin: bob });
      const result = await engine.callTool('s', 'sample', {}, { origin: carol });
      release();
      await waiting;
      expect(result.isError).toBe(true);
      expect(textOf(result)).toMatch(/several clients/);
      expect([...bob.asked, ...carol.asked]).toEqual([]);
    } finally {
      await engine.close();
    }
  });

  it('answers roots/list with no roots, and refuses sampling, for a call without an origin', async () => {
    const { engine } = engineWithSamplingServer();
    try {
      await engine.upsertServer('s', entry);
      await engine.waitUntilReady('s', 1_000);
      expect(JSON.parse(textOf(await engine.callTool('s', 'roots')))).toEqual({ roots: [] });
      const sampled = await engine.callTool('s', 'sample');
      expect(sampled.isError).toBe(true);
      expect(textOf(sampled)).toMatch(/no client to ask/);
    } finally {
      await engine.close();
    }
  });
});
