import type { FastifyReply, FastifyRequest } from 'fastify';
import type { LegacySseHandler } from './legacy-sse.handler';
import { McpDispatcher } from './mcp.dispatcher';
import { classify, type McpRoute } from './protocol-family';
import type { StreamableHttpHandler } from './streamable-http.handler';

const mcp: McpRoute = { kind: 'mcp', view: '*' };
const req = (headers: Record<string, string>, body?: unknown) => ({ headers, body });
const initialize = {
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'c', version: '1' } },
};
const modernCall = {
  jsonrpc: '2.0',
  id: 2,
  method: 'tools/call',
  params: { name: 'echo', _meta: { 'io.modelcontextprotocol/protocolVersion': '2026-07-28' } },
};

describe('classify (the protocol family of a front-door request)', () => {
  it('puts the legacy URLs in the legacy family whatever they carry', () => {
    expect(classify({ kind: 'legacy-open' }, req({}))).toBe('legacy-http-sse');
    expect(classify({ kind: 'legacy-post', sessionId: 's' }, req({}, modernCall))).toBe('legacy-http-sse');
  });

  it('takes a session id or an initialize as the 2025 path, even beside 2026 markers', () => {
    expect(classify(mcp, req({ 'mcp-session-id': 's1', 'mcp-protocol-version': '2026-07-28' }, modernCall))).toBe(
      'streamable-http-2025',
    );
    expect(classify(mcp, req({ 'mcp-protocol-version': '2026-07-28' }, [initialize, modernCall]))).toBe(
      'streamable-http-2025',
    );
  });

  it('recognises 2026-07-28 by its MCP-Protocol-Version header or by the per-request _meta revision', () => {
    expect(classify(mcp, req({ 'mcp-protocol-version': '2026-07-28' }, { jsonrpc: '2.0', id: 1, method: 'x' }))).toBe(
      'stateless-2026-07-28',
    );
    expect(classify(mcp, req({}, modernCall))).toBe('stateless-2026-07-28');
    expect(classify(mcp, req({}, [{ jsonrpc: '2.0', id: 1, method: 'tools/list' }, modernCall]))).toBe(
      'stateless-2026-07-28',
    );
  });

  it('leaves everything else to the 2025 path (2025 header, no header, GET and DELETE without a body, junk)', () => {
    const list = { jsonrpc: '2.0', id: 1, method: 'tools/list' };
    expect(classify(mcp, req({ 'mcp-protocol-version': '2025-06-18' }, list))).toBe('streamable-http-2025');
    expect(classify(mcp, req({}, list))).toBe('streamable-http-2025');
    expect(classify(mcp, req({}))).toBe('streamable-http-2025');
    expect(classify(mcp, req({}, 'not json-rpc'))).toBe('streamable-http-2025');
    expect(classify(mcp, req({}, { params: null }))).toBe('streamable-http-2025');
  });
});

describe('McpDispatcher', () => {
  const streamable = { handle: jest.fn(() => Promise.resolve()) };
  const legacy = { handle: jest.fn(() => Promise.resolve()) };
  const dispatcher = new McpDispatcher(
    streamable as unknown as StreamableHttpHandler,
    legacy as unknown as LegacySseHandler,
  );
  const reply = {} as FastifyReply;
  beforeEach(() => jest.clearAllMocks());

  it('hands each request to the handler of its family, with its route', async () => {
    const post = req({}, { jsonrpc: '2.0', id: 1, method: 'tools/list' }) as unknown as FastifyRequest;
    await dispatcher.dispatch(post, reply, { kind: 'mcp', view: 'toolbox' });
    expect(streamable.handle).toHaveBeenCalledWith(post, reply, { kind: 'mcp', view: 'toolbox' });
    const sse = req({}) as unknown as FastifyRequest;
    await dispatcher.dispatch(sse, reply, { kind: 'legacy-open' });
    expect(legacy.handle).toHaveBeenCalledWith(sse, reply, { kind: 'legacy-open' });
  });

  it('serves a 2026-07-28 request on the 2025 path until its own handler exists', async () => {
    const modern = req({ 'mcp-protocol-version': '2026-07-28' }, modernCall) as unknown as FastifyRequest;
    await dispatcher.dispatch(modern, reply, mcp);
    expect(streamable.handle).toHaveBeenCalledWith(modern, reply, mcp);
    expect(legacy.handle).not.toHaveBeenCalled();
  });
});
