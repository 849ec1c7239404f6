import { EngineErrorCode } from '../engine-error';
import type { McpEngine } from '../mcp-engine';
import { EVERYTHING, closeAndAssertNoChildren, entry, newEngine, nodeEntry, osChildren, text } from './helpers';

describe('McpEngine over stdio (real servers)', () => {
  let engine: McpEngine;

  afterEach(async () => {
    await closeAndAssertNoChildren(engine);
  });

  it('round-trips echo through server-everything over stdio', async () => {
    engine = newEngine();
    await engine.upsertServer(
      'everything',
      entry({ type: 'stdio', command: process.execPath, args: [EVERYTHING, 'stdio'] }),
    );
    const state = await engine.waitUntilReady('everything', 15_000);
    expect(state.status).toBe('active');
    expect(state.pids).toHaveLength(1);
    expect(osChildren()).toContain(state.pids[0]);
    const result = await engine.callTool('everything', 'echo', { message: 'hello' });
    expect(text(result)).toBe('Echo: hello');
    expect(engine.listTools('everything').map((t) => t.tool.name)).toContain('get-env');
  });

  it('does not leak the gateway environment to a child', async () => {
    process.env.GLOBALMCP_TEST_SECRET = 'db-password-123';
    try {
      engine = newEngine();
      await engine.upsertServer(
        'everything',
        entry({
          type: 'stdio',
          command: process.execPath,
          args: [EVERYTHING, 'stdio'],
          environment: { CONFIGURED_VAR: 'visible' },
        }),
      );
      await engine.waitUntilReady('everything', 15_000);
      const env = JSON.parse(text(await engine.callTool('everything', 'get-env', {}))) as Record<string, string>;
      expect(env.GLOBALMCP_TEST_SECRET).toBeUndefined();
      expect(env.CONFIGURED_VAR).toBe('visible');
      expect(
        Object.keys(env).every((k) =>
          ['HOME', 'LOGNAME', 'PATH', 'SHELL', 'TERM', 'USER', 'CONFIGURED_VAR'].includes(k),
        ),
      ).toBe(true);
    } finally {
      delete process.env.GLOBALMCP_TEST_SECRET;
    }
  });

  it('passes results through faithfully: structuredContent, isError, upstream errors, malformed results', async () => {
    engine = newEngine();
    await engine.upsertServer('box', nodeEntry('toolbox.js'));
    await engine.waitUntilReady('box', 10_000);
    const echo = await engine.callTool('box', 'echo', { message: 'x' });
    expect(echo.structuredContent).toEqual({ echoed: 'x' });
    const soft = await engine.callTool('box', 'soft_fail', {});
    expect(soft.isError).toBe(true);
    await expect(engine.callTool('box', 'fail', {})).rejects.toMatchObject({
      code: EngineErrorCode.UPSTREAM_ERROR,
      details: {
        rpcCode: -32050,
        rpcMessage: expect.stringContaining('deliberate failure'),
        data: { hint: 'fixture' },
      },
    });
    await expect(engine.callTool('box', 'bad_result', {})).rejects.toMatchObject({
      code: EngineErrorCode.PROTOCOL_ERROR,
    });
    await expect(engine.callTool('box', 'nope', {})).rejects.toMatchObject({ code: EngineErrorCode.NOT_FOUND });
    await expect(engine.callTool('missing', 'echo', {})).rejects.toMatchObject({
      code: EngineErrorCode.SERVER_NOT_FOUND,
    });
    // The session survived all of that.
    expect(text(await engine.callTool('box', 'echo', { message: 'still here' }))).toBe('Echo: still here');
  });
});
