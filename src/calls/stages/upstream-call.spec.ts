import type { McpEngine } from 'src/mcp/mcp-engine';
import { ArgumentValidator } from './argument-validator';
import { UpstreamCall } from './upstream-call';

const target = { serverId: 'everything', tool: { name: 'echo', inputSchema: { type: 'object' as const } } };

describe('UpstreamCall', () => {
  it('places the call on the engine with its timeout, signal, progress and origin, without validating again', async () => {
    const engine = { callTool: jest.fn(async () => ({ content: [] })) };
    const signal = new AbortController().signal;
    const onProgress = jest.fn();
    await new UpstreamCall(engine as unknown as McpEngine).run(target, { message: 'x' }, 250, { signal, onProgress });
    expect(engine.callTool).toHaveBeenCalledWith(
      'everything',
      'echo',
      { message: 'x' },
      {
        timeoutMs: 250,
        signal,
        onProgress,
        origin: undefined,
        skipValidation: true,
      },
    );
  });
});

describe('ArgumentValidator', () => {
  it("checks the arguments against the tool's schema through the engine's compiled validators", () => {
    const engine = { checkToolCall: jest.fn() };
    new ArgumentValidator(engine as unknown as McpEngine).check(target, { message: 'x' });
    expect(engine.checkToolCall).toHaveBeenCalledWith('everything', 'echo', { message: 'x' });
  });
});
