import { EngineErrorCode } from '../engine-error';
import type { McpEngine } from '../mcp-engine';
import {
  type HttpUpstream,
  closeAndAssertNoChildren,
  entry,
  eventually,
  newEngine,
  startEverythingHttp,
  text,
} from './helpers';

describe('McpEngine over HTTP transports (server-everything on loopback)', () => {
  let engine: McpEngine;
  let upstream: HttpUpstream | undefined;

  afterEach(async () => {
    await closeAndAssertNoChildren(engine, upstream?.child.pid ? [upstream.child.pid] : []);
    await upstream?.stop();
    upstream = undefined;
  });

  it('round-trips echo over Streamable HTTP, pooled, without piling up abort listeners', async () => {
    upstream = await startEverythingHttp('streamableHttp');
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.message);
    process.on('warning', onWarning);
    try {
      engine = newEngine();
      await engine.upsertServer('http', entry({ type: 'http', url: upstream.url, poolSize: 2 }));
      const state = await engine.waitUntilReady('http', 15_000);
      expect(state.status).toBe('active');
      expect(text(await engine.callTool('http', 'echo', { message: 'over http' }))).toBe('Echo: over http');
      for (let round = 0; round < 20; round++) {
        await Promise.all(Array.from({ length: 50 }, (_, i) => engine.callTool('http', 'echo', { message: `m${i}` })));
      }
      expect(engine.getServerState('http').connected).toBe(2);
      await new Promise((r) => setTimeout(r, 200));
      expect(warnings.filter((w) => /MaxListeners|abort/i.test(w))).toEqual([]);
    } finally {
      process.off('warning', onWarning);
    }
  });

  it('round-trips echo over legacy SSE', async () => {
    upstream = await startEverythingHttp('sse');
    engine = newEngine();
    await engine.upsertServer('sse', entry({ type: 'sse', url: upstream.url }));
    const state = await engine.waitUntilReady('sse', 15_000);
    expect(state.status).toBe('active');
    expect(text(await engine.callTool('sse', 'echo', { message: 'over sse' }))).toBe('Echo: over sse');
  });

  it('fails fast and marks the server down when the HTTP upstream dies', async () => {
    upstream = await startEverythingHttp('streamableHttp');
    engine = newEngine();
    await engine.upsertServer('http', entry({ type: 'http', url: upstream.url }));
    await engine.waitUntilReady('http', 15_000);
    await upstream.stop();
    const started = Date.now();
    await expect(engine.callTool('http', 'echo', { message: 'x' }, { timeoutMs: 20_000 })).rejects.toMatchObject({
      code: expect.stringMatching(
        new RegExp(`${EngineErrorCode.CONNECTION_LOST}|${EngineErrorCode.SERVER_UNAVAILABLE}`),
      ),
    });
    expect(Date.now() - started).toBeLessThan(5_000);
    await eventually(() => engine.getServerState('http').status === 'error', 5_000);
  });
});
