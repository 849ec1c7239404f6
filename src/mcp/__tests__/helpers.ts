import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { serverEntrySchema, type ServerEntry } from 'src/config/config.schema';
import type { McpClientConfig, McpEngineOptions } from '../mcp-engine';
import { McpEngine } from '../mcp-engine';

export const ROOT = resolve(__dirname, '../../..');
export const FIXTURES = join(ROOT, 'test/fixtures/servers');
export const EVERYTHING = join(ROOT, 'node_modules/@modelcontextprotocol/server-everything/dist/index.js');
export const FILESYSTEM = join(ROOT, 'node_modules/@modelcontextprotocol/server-filesystem/dist/index.js');
export const MEMORY = join(ROOT, 'node_modules/@modelcontextprotocol/server-memory/dist/index.js');

export function clientConfig(overrides: Partial<McpClientConfig> = {}): McpClientConfig {
  return {
    defaultTimeout: 10_000,
    maxConcurrentConnections: 100,
    maxResultSize: 10 * 1024 * 1024,
    retry: { maxAttempts: 3, backoffMultiplier: 2, initialInterval: 50, maxInterval: 1_000 },
    pool: { coreSize: 1, maxSize: 16, keepAlive: 60_000, queueCapacity: 10_000 },
    ...overrides,
  };
}

export function newEngine(
  overrides: Partial<McpClientConfig> = {},
  options: Partial<McpEngineOptions> = {},
): McpEngine {
  return new McpEngine({
    client: clientConfig(overrides),
    reap: { graceMs: 500, killAfterMs: 1_000 },
    crashLoop: { maxCrashes: 50, windowMs: 10_000 },
    killChildrenOnExit: true,
    ...options,
  });
}

/** A stdio entry running a fixture (or any script) with this very node binary. */
export function nodeEntry(script: string, extra: Record<string, unknown> = {}, args: string[] = []): ServerEntry {
  const path = script.startsWith('/') ? script : join(FIXTURES, script);
  return serverEntrySchema.parse({ type: 'stdio', command: process.execPath, args: [path, ...args], ...extra });
}

export function entry(raw: Record<string, unknown>): ServerEntry {
  return serverEntrySchema.parse(raw);
}

/** PIDs of this process's direct children, from `ps` (independent of the engine's own bookkeeping). */
export function osChildren(): number[] {
  try {
    const out = execFileSync('ps', ['-o', 'pid=,comm=', '--ppid', String(process.pid)], { encoding: 'utf8' });
    return out
      .split('\n')
      .map((l) => l.trim().split(/\s+/))
      .filter(([, comm]) => comm !== undefined && comm !== 'ps') // ps lists itself
      .map(([pid]) => Number(pid))
      .filter((n) => Number.isInteger(n) && n > 0);
  } catch {
    return []; // ps exits 1 when there are none
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Waits (bounded) until `predicate` holds. */
export async function eventually(
  predicate: () => boolean | Promise<boolean>,
  timeoutMs = 10_000,
  stepMs = 20,
): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (await predicate()) return;
    if (Date.now() > end) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

/** Closes the engine and proves no child of it survives (engine bookkeeping and the OS agree). */
export async function closeAndAssertNoChildren(engine: McpEngine, allowed: number[] = []): Promise<void> {
  const before = engine.childPids();
  await engine.close();
  expect(engine.childPids()).toEqual([]);
  for (const pid of before) expect(isAlive(pid)).toBe(false);
  await eventually(() => osChildren().filter((p) => !allowed.includes(p)).length === 0, 5_000);
}

export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      srv.close(() => resolvePort(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

export interface HttpUpstream {
  url: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

/** Starts server-everything in `streamableHttp` or `sse` mode on a free loopback port (bound to 127.0.0.1 only). */
export async function startEverythingHttp(mode: 'streamableHttp' | 'sse'): Promise<HttpUpstream> {
  const port = await freePort();
  const child = spawn(process.execPath, ['-r', join(FIXTURES, 'loopback-only.js'), EVERYTHING, mode], {
    env: { PATH: process.env.PATH ?? '', PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  await eventually(() => /listening on port|running on port/i.test(output) || child.exitCode !== null, 15_000);
  if (child.exitCode !== null) throw new Error(`everything ${mode} exited: ${output}`);
  const path = mode === 'sse' ? '/sse' : '/mcp';
  return {
    url: `http://127.0.0.1:${port}${path}`,
    child,
    stop: () =>
      new Promise<void>((done) => {
        if (child.exitCode !== null || child.signalCode !== null) return done();
        child.once('exit', () => done());
        child.kill('SIGKILL');
      }),
  };
}

export function text(result: { content?: unknown }): string {
  const content = (result.content ?? []) as { type: string; text?: string }[];
  return content.map((c) => c.text ?? '').join('');
}
