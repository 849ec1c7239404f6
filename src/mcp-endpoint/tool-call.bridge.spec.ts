import { McpError } from '@modelcontextprotocol/sdk/types.js';
import type { CallPipeline } from 'src/calls/call-pipeline';
import type { CallHooks, CallRequest } from 'src/calls/call.types';
import { AppException } from 'src/common/errors/app.exception';
import type { ClientScope } from './client-scope';
import type { McpSessionRelay } from './mcp-session.relay';
import { type HandlerExtra, ToolCallBridge } from './tool-call.bridge';

function setup(run: (request: CallRequest, hooks: CallHooks) => Promise<unknown>) {
  const pipeline = { call: jest.fn(run) };
  const done = jest.fn();
  const relay = {
    track: jest.fn((_s: ClientScope, _id: unknown, signal: AbortSignal) => ({ signal, done })),
    origin: jest.fn(() => ({ group: 's1', answers: false })),
  };
  const hangUp = new AbortController();
  const scope = {
    sessionId: 's1',
    principal: undefined,
    signal: hangUp.signal,
    view: {
      toolCall: (name: string, args: Record<string, unknown>) => ({
        serverId: 'toolbox',
        name: name.replace('toolbox__', ''),
        arguments: args,
      }),
    },
  } as unknown as ClientScope;
  const notifications: unknown[] = [];
  const extra = {
    requestId: 9,
    signal: new AbortController().signal,
    sendNotification: (n: unknown) => {
      notifications.push(n);
      return Promise.resolve();
    },
  } as unknown as HandlerExtra;
  const bridge = new ToolCallBridge(pipeline as unknown as CallPipeline, relay as unknown as McpSessionRelay);
  return { bridge, pipeline, relay, scope, extra, notifications, done, hangUp };
}

describe('ToolCallBridge', () => {
  it('runs the upstream name on the call pipeline (channel mcp) and answers its MCP result as it is', async () => {
    const result = { content: [{ type: 'text', text: 'ok' }], structuredContent: { a: 1 } };
    const { bridge, pipeline, scope, extra, done } = setup(() => Promise.resolve({ result }));
    await expect(bridge.callTool(scope, { name: 'toolbox__echo', arguments: { m: 'x' } }, extra)).resolves.toBe(result);
    expect(pipeline.call).toHaveBeenCalledWith(
      { toolName: 'echo', serverId: 'toolbox', arguments: { m: 'x' }, principal: undefined, channel: 'mcp' },
      expect.objectContaining({ origin: { group: 's1', answers: false }, onProgress: undefined }),
    );
    expect(done).toHaveBeenCalledTimes(1);
  });

  it('forwards progress with the client token before the result', async () => {
    const { bridge, scope, extra, notifications } = setup((_r, hooks) => {
      hooks.onProgress?.({ progress: 1, total: 2 });
      return Promise.resolve({ result: { content: [] } });
    });
    await bridge.callTool(scope, { name: 'echo', _meta: { progressToken: 't' } }, extra);
    expect(notifications).toEqual([
      { method: 'notifications/progress', params: { progress: 1, total: 2, progressToken: 't' } },
    ]);
  });

  it('says why a call ended when the client hung up, and turns a failure into a JSON-RPC error', async () => {
    let reason: string | undefined;
    const { bridge, scope, extra, hangUp, done } = setup((_r, hooks) => {
      hangUp.abort();
      reason = hooks.endReason?.();
      return Promise.reject(AppException.invalid('bad arguments'));
    });
    const error = await bridge.callTool(scope, { name: 'echo' }, extra).catch((e: unknown) => e);
    expect(reason).toBe('client-gone');
    expect(error).toBeInstanceOf(McpError);
    expect((error as McpError).code).toBe(-32602);
    expect(done).toHaveBeenCalledTimes(1);
  });
});
