import { EngineErrorCode } from '../engine-error';
import type { McpEngine } from '../mcp-engine';
import type { CallFinishedEvent, ServerRestartEvent } from '../mcp-engine.events';
import { closeAndAssertNoChildren, eventually, isAlive, newEngine, nodeEntry, osChildren, text } from './helpers';

describe('McpEngine failure handling (real fixture servers)', () => {
  let engine: McpEngine;

  afterEach(async () => {
    await closeAndAssertNoChildren(engine);
  });

  it('fails an in-flight call at once when the child crashes, then restarts and recovers', async () => {
    engine = newEngine();
    const restarts: ServerRestartEvent[] = [];
    engine.on('server.restart', (e) => restarts.push(e));
    await engine.upsertServer('crashy', nodeEntry('crash-server.js'));
    const before = await engine.waitUntilReady('crashy', 10_000);
    const started = Date.now();
    await expect(engine.callTool('crashy', 'crash', {}, { timeoutMs: 30_000 })).rejects.toMatchObject({
      code: EngineErrorCode.CONNECTION_LOST,
    });
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(isAlive(before.pids[0]!)).toBe(false);
    // While down the circuit is open: fail fast, no hang.
    await eventually(() => engine.getServerState('crashy').status === 'active', 10_000);
    const after = engine.getServerState('crashy');
    expect(after.restarts).toBeGreaterThanOrEqual(1);
    expect(after.lastError).toMatch(/exited/);
    expect(after.pids[0]).not.toBe(before.pids[0]);
    expect(restarts.length).toBeGreaterThanOrEqual(1);
    expect(text(await engine.callTool('crashy', 'echo', { message: 'back' }))).toBe('Echo: back');
  });

  it('times out with TIMEOUT and the upstream receives notifications/cancelled', async () => {
    engine = newEngine();
    await engine.upsertServer('hang', nodeEntry('hang-server.js'));
    await engine.waitUntilReady('hang', 10_000);
    const started = Date.now();
    await expect(engine.callTool('hang', 'hang', {}, { timeoutMs: 300 })).rejects.toMatchObject({
      code: EngineErrorCode.TIMEOUT,
    });
    expect(Date.now() - started).toBeLessThan(1_500);
    await eventually(
      async () => JSON.parse(text(await engine.callTool('hang', 'cancellations', {}))).length === 1,
      5_000,
    );
  });

  it('uses the server timeout when the call sets none', async () => {
    engine = newEngine();
    await engine.upsertServer('hang', nodeEntry('hang-server.js', { timeout: 200 }));
    await engine.waitUntilReady('hang', 10_000);
    await expect(engine.callTool('hang', 'hang', {})).rejects.toMatchObject({
      code: EngineErrorCode.TIMEOUT,
      details: { timeoutMs: 200 },
    });
  });

  it('cancels the upstream call when the caller aborts', async () => {
    engine = newEngine();
    await engine.upsertServer('rec', nodeEntry('cancel-recorder-server.js'));
    await engine.waitUntilReady('rec', 10_000);
    const controller = new AbortController();
    const call = engine.callTool('rec', 'hang', {}, { signal: controller.signal, timeoutMs: 30_000 });
    setTimeout(() => controller.abort(), 100);
    await expect(call).rejects.toMatchObject({ code: EngineErrorCode.CANCELLED });
    await eventually(
      async () => JSON.parse(text(await engine.callTool('rec', 'cancellations', {}))).length === 1,
      5_000,
    );
  });

  it('fails the attempt at once when a child exits during initialize, and parks a crash loop in error', async () => {
    engine = newEngine({}, { crashLoop: { maxCrashes: 3, windowMs: 10_000 } });
    const started = Date.now();
    await engine.upsertServer('dies', nodeEntry('exit-on-init-server.js'));
    await eventually(() => engine.getServerState('dies').parked, 10_000);
    // 3 attempts with 50/100 ms backoff: nowhere near the 10 s connect timeout.
    expect(Date.now() - started).toBeLessThan(5_000);
    const state = engine.getServerState('dies');
    expect(state.status).toBe('error');
    expect(state.lastError).toMatch(/crash loop/);
    expect(state.lastError).toMatch(/refusing to initialize/);
    await expect(engine.callTool('dies', 'echo', {})).rejects.toMatchObject({
      code: EngineErrorCode.SERVER_UNAVAILABLE,
    });
    // Parked: nothing respawns.
    await new Promise((r) => setTimeout(r, 300));
    expect(engine.childPids('dies')).toEqual([]);
    expect(engine.getServerState('dies').parked).toBe(true);
  });

  it('parks a server that never answers initialize after the connect timeout, and reaps its child', async () => {
    engine = newEngine({}, { connectTimeoutMs: 300, crashLoop: { maxCrashes: 1, windowMs: 10_000 } });
    await engine.upsertServer('mute', nodeEntry('hang-on-init-server.js'));
    await eventually(() => engine.getServerState('mute').parked, 10_000);
    expect(engine.childPids('mute')).toEqual([]);
  });

  it('kills a child that ignores stdin EOF and SIGTERM with SIGKILL on close', async () => {
    engine = newEngine();
    await engine.upsertServer('stubborn', nodeEntry('ignore-sigterm-server.js'));
    const state = await engine.waitUntilReady('stubborn', 10_000);
    expect(state.status).toBe('active');
    const started = Date.now();
    await engine.removeServer('stubborn');
    expect(isAlive(state.pids[0]!)).toBe(false);
    // grace 500 ms + SIGTERM wait 1 s
    expect(Date.now() - started).toBeLessThan(4_000);
    expect(osChildren()).not.toContain(state.pids[0]);
  });

  it('refuses results above max-result-size with RESULT_TOO_LARGE, and the session survives', async () => {
    engine = newEngine({ maxResultSize: 100_000 });
    await engine.upsertServer('huge', nodeEntry('huge-server.js'));
    await engine.waitUntilReady('huge', 10_000);
    expect(text(await engine.callTool('huge', 'huge', { bytes: 50_000 }))).toHaveLength(50_000);
    await expect(engine.callTool('huge', 'huge', { bytes: 200_000 })).rejects.toMatchObject({
      code: EngineErrorCode.RESULT_TOO_LARGE,
    });
    // Beyond the stdio line buffer (limit + 1 MiB): the session is dropped (cannot be resynchronised), the call fails fast.
    await expect(engine.callTool('huge', 'huge', { bytes: 3_000_000 })).rejects.toMatchObject({
      code: EngineErrorCode.CONNECTION_LOST,
    });
    await eventually(() => engine.getServerState('huge').status === 'active', 10_000);
    expect(text(await engine.callTool('huge', 'echo', { message: 'ok' }))).toBe('Echo: ok');
  });

  it('survives garbage on stdout', async () => {
    engine = newEngine();
    await engine.upsertServer('garbage', nodeEntry('garbage-server.js'));
    await engine.waitUntilReady('garbage', 10_000);
    for (let i = 0; i < 5; i++)
      expect(text(await engine.callTool('garbage', 'echo', { message: `m${i}` }))).toBe(`Echo: m${i}`);
    expect(engine.getServerState('garbage').restarts).toBe(0);
  });

  it('emits call.finished with outcome and duration for metrics', async () => {
    engine = newEngine();
    const finished: CallFinishedEvent[] = [];
    engine.on('call.finished', (e) => finished.push(e));
    await engine.upsertServer('box', nodeEntry('toolbox.js'));
    await engine.waitUntilReady('box', 10_000);
    await engine.callTool('box', 'echo', { message: 'a' });
    await engine.callTool('box', 'soft_fail', {});
    await engine.callTool('box', 'echo', {}).catch(() => undefined);
    expect(finished.map((f) => [f.serverId, f.method, f.outcome])).toEqual([
      ['box', 'tools/call', 'success'],
      ['box', 'tools/call', 'tool_error'],
      ['box', 'tools/call', 'INVALID_PARAMETERS'],
    ]);
    expect(finished.every((f) => f.durationMs >= 0)).toBe(true);
  });
});
