import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EngineErrorCode } from '../engine-error';
import type { McpEngine } from '../mcp-engine';
import { FILESYSTEM, MEMORY, closeAndAssertNoChildren, entry, eventually, newEngine, nodeEntry, text } from './helpers';

describe('McpEngine catalog and validation (real servers)', () => {
  let engine: McpEngine;

  afterEach(async () => {
    await closeAndAssertNoChildren(engine);
  });

  it('discovers every page of tools and refreshes on tools/list_changed', async () => {
    engine = newEngine();
    const changed: string[] = [];
    engine.on('catalog.changed', (e) => changed.push(`${e.serverId}:${e.kinds.join(',')}`));
    await engine.upsertServer('lc', nodeEntry('list-changed-server.js'));
    await engine.waitUntilReady('lc', 10_000);
    // 14 tools served 3 per page.
    expect(engine.listTools('lc')).toHaveLength(14);
    expect(engine.listResources('lc')).toHaveLength(5);
    expect(engine.listResourceTemplates('lc')).toHaveLength(1);
    expect(engine.listPrompts('lc').map((p) => p.name)).toEqual(['greet']);
    await engine.callTool('lc', 'add_tool', { name: 'brand_new' });
    await eventually(() => engine.listTools('lc').some((t) => t.tool.name === 'brand_new'), 5_000);
    expect(changed.filter((c) => c === 'lc:tools').length).toBeGreaterThanOrEqual(1);
    expect(text(await engine.callTool('lc', 'brand_new', {}))).toBe('dynamic tool');
  });

  it('reads resources and prompts, and raw JSON-RPC passes through', async () => {
    engine = newEngine();
    await engine.upsertServer('box', nodeEntry('toolbox.js'));
    await engine.waitUntilReady('box', 10_000);
    const read = await engine.readResource('box', 'fixture://doc/2');
    expect(read.contents[0]).toMatchObject({ uri: 'fixture://doc/2', text: 'content of fixture://doc/2' });
    await expect(engine.readResource('box', 'fixture://nope')).rejects.toMatchObject({
      code: EngineErrorCode.UPSTREAM_ERROR,
      details: { rpcCode: -32002 },
    });
    const prompt = await engine.getPrompt('box', 'greet', { who: 'Ada' });
    expect(prompt.messages[0]?.content).toEqual({ type: 'text', text: 'Hello Ada' });
    await expect(engine.getPrompt('box', 'nope')).rejects.toMatchObject({ code: EngineErrorCode.NOT_FOUND });
    const raw = await engine.request('box', 'tools/list', {});
    expect(Array.isArray(raw.tools)).toBe(true);
    expect(await engine.request('box', 'ping')).toEqual({});
  });

  it('raises AMBIGUOUS for a tool on two servers unless a server is named', async () => {
    engine = newEngine();
    await Promise.all([
      engine.upsertServer('a', nodeEntry('toolbox.js')),
      engine.upsertServer('b', nodeEntry('toolbox.js')),
    ]);
    await Promise.all([engine.waitUntilReady('a', 10_000), engine.waitUntilReady('b', 10_000)]);
    expect(() => engine.findTool('echo')).toThrow(
      expect.objectContaining({ code: EngineErrorCode.AMBIGUOUS, details: { tool: 'echo', servers: ['a', 'b'] } }),
    );
    expect(engine.findTool('echo', 'b').serverId).toBe('b');
    expect(() => engine.findTool('nothing')).toThrow(expect.objectContaining({ code: EngineErrorCode.NOT_FOUND }));
  });

  it('validates parameters against draft-07 and 2020-12 schemas before calling upstream', async () => {
    engine = newEngine();
    await engine.upsertServer('box', nodeEntry('toolbox.js'));
    await engine.waitUntilReady('box', 10_000);
    await expect(engine.callTool('box', 'echo', {})).rejects.toMatchObject({
      code: EngineErrorCode.INVALID_PARAMETERS,
      details: { errors: [{ path: '/message', message: expect.stringContaining('required') }] },
    });
    await expect(engine.callTool('box', 'echo', { message: 42 })).rejects.toMatchObject({
      details: { errors: [{ path: '/message', message: 'must be string' }] },
    });
    await expect(
      engine.callTool('box', 'strict', { name: 'x', count: 0, contact: { email: 'nope' }, extra: 1 }),
    ).rejects.toMatchObject({
      code: EngineErrorCode.INVALID_PARAMETERS,
      details: {
        errors: expect.arrayContaining([
          expect.objectContaining({ path: '/count' }),
          expect.objectContaining({ path: '/contact/email' }),
          expect.objectContaining({ path: '/extra' }),
        ]),
      },
    });
    expect(
      JSON.parse(text(await engine.callTool('box', 'strict', { name: 'x', count: 2, contact: { email: 'a@b.co' } }))),
    ).toEqual({
      name: 'x',
      count: 2,
      contact: { email: 'a@b.co' },
    });
  });

  it('works with server-filesystem on a temp dir and server-memory', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'globalmcp-fs-'));
    writeFileSync(join(dir, 'hello.txt'), 'hello from disk');
    try {
      engine = newEngine();
      await engine.upsertServer('fs', entry({ type: 'stdio', command: process.execPath, args: [FILESYSTEM, dir] }));
      await engine.upsertServer(
        'mem',
        entry({
          type: 'stdio',
          command: process.execPath,
          args: [MEMORY],
          environment: { MEMORY_FILE_PATH: join(dir, 'memory.jsonl') },
        }),
      );
      await Promise.all([engine.waitUntilReady('fs', 15_000), engine.waitUntilReady('mem', 15_000)]);
      const read = await engine.callTool('fs', 'read_text_file', { path: join(dir, 'hello.txt') });
      expect(text(read)).toContain('hello from disk');
      await engine.callTool('mem', 'create_entities', {
        entities: [{ name: 'Ada', entityType: 'person', observations: ['wrote programs'] }],
      });
      const graph = await engine.callTool('mem', 'read_graph', {});
      expect(text(graph)).toContain('Ada');
    } finally {
      await engine.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
