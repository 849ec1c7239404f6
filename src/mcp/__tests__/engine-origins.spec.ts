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
 * in-process server over InMemoryTransport, one connection (pool size 1), so calls that may not share it wait.
 */
function engineWithSamplingServer(maxConcurrentConnections = 10) {
  const releases: (() => void)[] = [];
  const started: string[] = [];
  /** The upstream end of each connection opened, in order (closing one is the upstream going away). */
  const upstreams: Server[] = [];
  const engine = new McpEngine({
    client: {
      defaultTimeout: 2_000,
      maxConcurrentConnections,
      maxResultSize: 1_000_000,
      retry: { maxAttempts: 3, backoffMultiplier: 2, initialInterval: 10, maxInterval: 100 },
      pool: { coreSize: 1, maxSize: 1, keepAlive: 60_000, queueCapacity: 10 },
    },
    killChildrenOnExit: false,
    clientCapabilities: { sampling: {}, roots: { listChanged: true } },
    transportFactory: () => {
      const [client, serverSide] = InMemoryTransport.createLinkedPair();
      const server = new Server({ name: 'sampler', version: '1' }, { capabilities: { tools: {}, logging: {} } });
      server.setRequestHandler(ListToolsRequestSchema, () => ({
        tools: ['sample', 'roots', 'wait', 'log'].map((name) => ({ name, inputSchema: { type: 'object' as const } })),
      }));
      server.setRequestHandler(CallToolRequestSchema, async (req, extra): Promise<CallToolResult> => {
        started.push(req.params.name);
        if (req.params.name === 'wait') {
          await new Promise<void>((resolve) => releases.push(resolve));
          return { content: [{ type: 'text', text: 'waited' }] };
        }
        if (req.params.name === 'log') {
          await extra.sendNotification({ method: 'notifications/message', params: { level: 'info', data: 'hi' } });
          return { content: [{ type: 'text', text: 'logged' }] };
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
      upstreams.push(server);
      return client;
    },
  });
  return { engine, started, upstreams, release: () => releases.shift()?.() };
}

const entry = serverEntrySchema.parse({ type: 'http', url: 'http://in-memory.invalid/mcp' });

/** An origin (its own group) that answers sampling with its name, roots with one root, and counts what it was asked. */
function origin(name: string, group = name, answers = true): CallOrigin & { asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    group,
    answers,
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

  it('runs a call of a second client session only once the first one is done, and routes to each its own', async () => {
    const { engine, started, release } = engineWithSamplingServer();
    const waits: { serverId: string }[] = [];
    engine.on('placement.wait', (e) => waits.push(e));
    try {
      await engine.upsertServer('s', entry);
      await engine.waitUntilReady('s', 1_000);
      const bob = origin('bob');
      const carol = origin('carol');
      const waiting = engine.callTool('s', 'wait', {}, { origin: bob });
      await until(() => started.includes('wait'));
      const sampled = engine.callTool('s', 'sample', {}, { origin: carol });
      await until(() => waits.length === 1);
      expect(started).toEqual(['wait']);
      release();
      await waiting;
      expect(textOf(await sampled)).toContain('from carol');
      expect(bob.asked).toEqual([]);
      expect(carol.asked).toEqual(['sampling/createMessage']);
      expect(waits).toEqual([{ serverId: 's' }]);
    } finally {
      await engine.close();
    }
  });

  it('lets calls of one session share the connection, routed to that session', async () => {
    const { engine, release } = engineWithSamplingServer();
    const waits: unknown[] = [];
    engine.on('placement.wait', (e) => waits.push(e));
    try {
      await engine.upsertServer('s', entry);
      await engine.waitUntilReady('s', 1_000);
      const first = origin('dave');
      const second = origin('dave-2', 'dave');
      const waiting = engine.callTool('s', 'wait', {}, { origin: first });
      const sampled = await engine.callTool('s', 'sample', {}, { origin: second });
      // The oldest call of the group in flight is asked: the same client session either way.
      expect(textOf(sampled)).toContain('from dave');
      expect(first.asked).toEqual(['sampling/createMessage']);
      expect(waits).toEqual([]);
      release();
      await waiting;
    } finally {
      await engine.close();
    }
  });

  it('keeps a call without an origin (REST) off a connection serving a client session, and the other way round', async () => {
    const { engine, started, release } = engineWithSamplingServer();
    try {
      await engine.upsertServer('s', entry);
      await engine.waitUntilReady('s', 1_000);
      const erin = origin('erin');
      const waiting = engine.callTool('s', 'wait', {}, { origin: erin });
      await until(() => started.length === 1);
      const rest = engine.callTool('s', 'sample');
      release();
      await waiting;
      const refused = await rest;
      expect(refused.isError).toBe(true);
      expect(textOf(refused)).toMatch(/no client to ask/);
      expect(erin.asked).toEqual([]);

      const restWaiting = engine.callTool('s', 'wait');
      await until(() => started.length === 3);
      const frank = origin('frank');
      const sampled = engine.callTool('s', 'sample', {}, { origin: frank });
      release();
      await restWaiting;
      expect(textOf(await sampled)).toContain('from frank');
    } finally {
      await engine.close();
    }
  });

  it('places an origin that cannot answer like a call without one', async () => {
    const { engine, started, release } = engineWithSamplingServer();
    try {
      await engine.upsertServer('s', entry);
      await engine.waitUntilReady('s', 1_000);
      const mute = origin('mute', 'mute', false);
      const waiting = engine.callTool('s', 'wait', {}, { origin: mute });
      await until(() => started.length === 1);
      // Shares the connection with the REST call (neither can answer): no wait, and nobody to ask.
      const sampled = await engine.callTool('s', 'sample');
      expect(sampled.isError).toBe(true);
      expect(mute.asked).toEqual([]);
      release();
      await waiting;
    } finally {
      await engine.close();
    }
  });

  it('does not hold a gateway-wide permit while waiting for a connection it may share', async () => {
    // Two permits: bob's call holds one; carol waits for bob's connection; a call to another server still runs.
    const { engine, started, release } = engineWithSamplingServer(2);
    try {
      await engine.upsertServer('s', entry);
      await engine.upsertServer('t', entry);
      await engine.waitUntilReady('s', 1_000);
      await engine.waitUntilReady('t', 1_000);
      const waiting = engine.callTool('s', 'wait', {}, { origin: origin('bob') });
      await until(() => started.includes('wait'));
      const carol = origin('carol');
      const sampled = engine.callTool('s', 'sample', {}, { origin: carol });
      sampled.catch(() => undefined); // awaited below; handled if the test fails before
      const other = engine.callTool('t', 'roots', {}, { origin: origin('dave'), timeoutMs: 1_000 });
      expect(JSON.parse(textOf(await other))).toEqual({ roots: [{ uri: 'file:///dave' }] });
      expect(carol.asked).toEqual([]);
      release();
      await waiting;
      expect(textOf(await sampled)).toContain('from carol');
    } finally {
      await engine.close();
    }
  });

  it('gives the connection back when a call placed after waiting is cancelled while it waits for its permit again', async () => {
    // Two permits. carol waits for bob's connection (permit given back); once bob is done she has the connection but
    // both permits are taken (dave's two calls on t), so she queues for one, and is cancelled there.
    const { engine, started, release } = engineWithSamplingServer(2);
    const waits: unknown[] = [];
    engine.on('placement.wait', (e) => waits.push(e));
    let depth = 0;
    engine.on('queue.depth', (e) => (depth = e.depth));
    try {
      await engine.upsertServer('s', entry);
      await engine.upsertServer('t', entry);
      await engine.waitUntilReady('s', 1_000);
      await engine.waitUntilReady('t', 1_000);
      const bob = engine.callTool('s', 'wait', {}, { origin: origin('bob') });
      await until(() => started.length === 1);
      const cancel = new AbortController();
      const carol = origin('carol');
      const sampled = engine.callTool('s', 'sample', {}, { origin: carol, signal: cancel.signal });
      sampled.catch(() => undefined); // awaited below; handled if the test fails before
      await until(() => waits.length === 1);
      const dave1 = engine.callTool('t', 'wait', {}, { origin: origin('dave') });
      await until(() => started.length === 2);
      const dave2 = engine.callTool('t', 'wait', {}, { origin: origin('dave') });
      await until(() => depth === 1);
      release(); // bob's call ends: carol is placed on s, bob's permit goes to dave's second call
      await bob;
      await until(() => started.length === 3 && depth === 1); // carol queued for a permit again
      cancel.abort();
      await expect(sampled).rejects.toMatchObject({ code: 'CANCELLED' });
      expect(carol.asked).toEqual([]);
      release();
      release();
      await Promise.all([dave1, dave2]);
      // Nothing leaked: s is free for another session and both permits are free (two calls run at once).
      const erin = engine.callTool('s', 'wait', {}, { origin: origin('erin') });
      const frank = engine.callTool('t', 'wait', {}, { origin: origin('frank') });
      await until(() => started.length === 5);
      expect(depth).toBe(0);
      release();
      release();
      await Promise.all([erin, frank]);
      expect(waits).toHaveLength(1);
    } finally {
      await engine.close();
    }
  });

  it('places a call again when the connection it got closes while it waits for its permit again', async () => {
    // As above, but s's connection goes away (and comes back) while carol queues for a permit: nothing was sent.
    const { engine, started, upstreams, release } = engineWithSamplingServer(2);
    const waits: unknown[] = [];
    engine.on('placement.wait', (e) => waits.push(e));
    let depth = 0;
    engine.on('queue.depth', (e) => (depth = e.depth));
    try {
      await engine.upsertServer('s', entry);
      await engine.waitUntilReady('s', 1_000);
      await engine.upsertServer('t', entry);
      await engine.waitUntilReady('t', 1_000);
      const bob = engine.callTool('s', 'wait', {}, { origin: origin('bob') });
      await until(() => started.length === 1);
      const carol = origin('carol');
      const sampled = engine.callTool('s', 'sample', {}, { origin: carol });
      sampled.catch(() => undefined); // awaited below; handled if the test fails before
      await until(() => waits.length === 1);
      const dave1 = engine.callTool('t', 'wait', {}, { origin: origin('dave') });
      await until(() => started.length === 2);
      const dave2 = engine.callTool('t', 'wait', {}, { origin: origin('dave') });
      await until(() => depth === 1);
      release(); // bob's call ends: carol is placed on s, bob's permit goes to dave's second call
      await bob;
      await until(() => started.length === 3 && depth === 1);
      await upstreams[0]!.close(); // s's only connection
      await until(() => upstreams.length === 3 && engine.getServerState('s').connected === 1);
      release();
      release();
      await Promise.all([dave1, dave2]);
      expect(textOf(await sampled)).toContain('from carol');
      expect(carol.asked).toEqual(['sampling/createMessage']);
    } finally {
      await engine.close();
    }
  });

  it("routes an upstream's log message to the answering session in flight, and to nobody beside a REST call", async () => {
    const { engine, started, release } = engineWithSamplingServer();
    const logs: (CallOrigin | undefined)[] = [];
    engine.on('server.notification', (e) => {
      if (e.notification.method === 'notifications/message') logs.push(e.origin);
    });
    try {
      await engine.upsertServer('s', entry);
      await engine.waitUntilReady('s', 1_000);
      const gina = origin('gina');
      await engine.callTool('s', 'log', {}, { origin: gina });
      // A session that cannot answer beside a REST call: the log could be either's.
      const mute = origin('mute', 'mute', false);
      const waiting = engine.callTool('s', 'wait');
      await until(() => started.includes('wait'));
      await engine.callTool('s', 'log', {}, { origin: mute });
      release();
      await waiting;
      expect(logs).toEqual([gina, undefined]);
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

/** Bounded wait for a condition the engine reaches asynchronously. */
async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 5));
  if (!condition()) throw new Error('condition not reached');
}
