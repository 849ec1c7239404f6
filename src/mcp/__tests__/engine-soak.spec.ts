import type { McpEngine } from '../mcp-engine';
import { closeAndAssertNoChildren, eventually, newEngine, nodeEntry, osChildren } from './helpers';

describe('McpEngine soak (real fixture server, random crashes)', () => {
  let engine: McpEngine;

  afterEach(async () => {
    await closeAndAssertNoChildren(engine);
  });

  it('never runs more processes than the pool size over 2,000 calls with random crashes, and recovers to it', async () => {
    const POOL = 3;
    const CALLS = 2_000;
    const CONCURRENCY = 32;
    engine = newEngine(
      {
        retry: { maxAttempts: 3, backoffMultiplier: 2, initialInterval: 20, maxInterval: 200 },
        maxConcurrentConnections: 16,
        pool: { coreSize: 1, maxSize: 16, keepAlive: 60_000, queueCapacity: 10_000 },
      },
      { crashLoop: { maxCrashes: 100_000, windowMs: 1_000 } },
    );
    await engine.upsertServer('soak', nodeEntry('crash-server.js', { poolSize: POOL }));
    await eventually(() => engine.getServerState('soak').connected === POOL, 15_000);

    let maxTracked = 0;
    let maxOs = 0;
    const sample = () => {
      maxTracked = Math.max(maxTracked, engine.childPids('soak').length);
      maxOs = Math.max(maxOs, osChildren().length);
    };
    const sampler = setInterval(sample, 25);
    const outcomes = new Map<string, number>();
    const spawned = new Set<number>();
    let next = 0;
    let unavailable = 0;
    const MAX_UNAVAILABLE = 20_000; // keeps the loop bounded whatever happens
    // Deterministic pseudo-random crashes (~1%: a respawn costs ~200 ms of node start-up on a small machine).
    let seed = 42;
    const random = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
    const heapBefore = process.memoryUsage().heapUsed;
    try {
      await Promise.all(
        Array.from({ length: CONCURRENCY }, async () => {
          while (next < CALLS) {
            next++;
            const crash = random() < 0.01;
            try {
              await engine.callTool('soak', crash ? 'crash' : 'echo', crash ? {} : { message: 'soak' }, {
                timeoutMs: 5_000,
              });
              outcomes.set('success', (outcomes.get('success') ?? 0) + 1);
            } catch (e) {
              const code = (e as { code?: string }).code ?? 'other';
              outcomes.set(code, (outcomes.get(code) ?? 0) + 1);
              // Every member is restarting (fail fast): wait a moment and retry; such attempts do not use up the budget.
              if (code === 'SERVER_UNAVAILABLE' && unavailable++ < MAX_UNAVAILABLE) {
                next--;
                await new Promise((r) => setTimeout(r, 20));
              }
            }
            for (const pid of engine.childPids('soak')) spawned.add(pid);
          }
        }),
      );
    } finally {
      clearInterval(sampler);
    }
    sample();
    expect(maxTracked).toBeLessThanOrEqual(POOL);
    expect(maxOs).toBeLessThanOrEqual(POOL);
    // Calls fail only while members restart: CONNECTION_LOST for those in flight on a crashing member.
    expect(outcomes.get('success') ?? 0).toBeGreaterThan(CALLS * 0.8);
    expect([...outcomes.keys()].every((k) => ['success', 'CONNECTION_LOST', 'SERVER_UNAVAILABLE'].includes(k))).toBe(
      true,
    );
    // Crashes really happened and were survived.
    expect(engine.getServerState('soak').restarts).toBeGreaterThan(5);
    expect(spawned.size).toBeGreaterThan(POOL);
    // Back to full strength.
    await eventually(() => engine.getServerState('soak').connected === POOL, 10_000);
    expect(engine.childPids('soak')).toHaveLength(POOL);
    expect(osChildren()).toHaveLength(POOL);
    // Nothing piles up per call (loose bound: 2,000 calls must not cost tens of MB).
    if (global.gc) global.gc();
    expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(50 * 1024 * 1024);
    console.log(
      `soak outcomes: ${JSON.stringify(Object.fromEntries(outcomes))}; restarts ${engine.getServerState('soak').restarts}; max processes ${maxTracked}/${maxOs}`,
    );
  });
});
