import type { FastifyReply, FastifyRequest } from 'fastify';
import type { LegacySseHandler } from './legacy-sse.handler';
import { McpDispatcher } from './mcp.dispatcher';
import { classify, type McpRoute } from './protocol-family';
import type { StatelessHandler } from './stateless.handler';
import type { StreamableHttpHandler } from './streamable-http.handler';

const mcp: McpRoute = { kind: 'mcp', view: '*' };
const req = (headers: Record<string, string>, body?: unknown, method = body === undefined ? 'GET' : 'POST') => ({
  headers,
  body,
  method,
});
const initialize = {
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'c', version: '1' } },
};
const envelope = {
  'io.modelcontextprotocol/protocolVersion': '2026-07-28',
  'io.modelcontextprotocol/clientCapabilities': {},
};
const modernCall = { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'echo', _meta: envelope } };

describe('classify (the protocol family of a front-door request)', () => {
  it('puts the legacy URLs in the legacy family whatever they carry', () => {
    expect(classify({ kind: 'legacy-open' }, req({}))).toBe('legacy-http-sse');
    expect(classify({ kind: 'legacy-post', sessionId: 's' }, req({}, modernCall))).toBe('legacy-http-sse');
  });

  it('takes an initialize, or a session request without the 2026 envelope, as the 2025 path', () => {
    const list = { jsonrpc: '2.0', id: 1, method: 'tools/list' };
    expect(classify(mcp, req({ 'mcp-session-id': 's1', 'mcp-protocol-version': '2025-11-25' }, list))).toBe(
      'streamable-http-2025',
    );
    expect(classify(mcp, req({}, initialize))).toBe('streamable-http-2025');
    expect(classify(mcp, req({ 'mcp-session-id': 's1' }, undefined, 'GET'))).toBe('streamable-http-2025');
    expect(classify(mcp, req({ 'mcp-session-id': 's1' }, undefined, 'DELETE'))).toBe('streamable-http-2025');
  });

  it('recognises 2026-07-28 by the per-request _meta envelope or its MCP-Protocol-Version header', () => {
    expect(classify(mcp, req({}, modernCall))).toBe('stateless-2026-07-28');
    expect(classify(mcp, req({ 'mcp-protocol-version': '2026-07-28' }, modernCall))).toBe('stateless-2026-07-28');
    // A 2026 header without the envelope is the 2026 path's to refuse (invalid params naming `_meta`).
    expect(classify(mcp, req({ 'mcp-protocol-version': '2026-07-28' }, { jsonrpc: '2.0', id: 1, method: 'x' }))).toBe(
      'stateless-2026-07-28',
    );
    // An envelope naming a revision nobody serves is answered by the 2026 path (unsupported version, 400).
    const future = {
      ...modernCall,
      params: { _meta: { ...envelope, 'io.modelcontextprotocol/protocolVersion': '2099-01-01' } },
    };
    expect(classify(mcp, req({}, future))).toBe('stateless-2026-07-28');
  });

  it('ignores an Mcp-Session-Id beside the 2026 envelope (that revision has no sessions)', () => {
    expect(classify(mcp, req({ 'mcp-session-id': 's1', 'mcp-protocol-version': '2026-07-28' }, modernCall))).toBe(
      'stateless-2026-07-28',
    );
  });

  it('sends GET and DELETE naming 2026-07-28 without a session to the 2026 path (which answers 405)', () => {
    expect(classify(mcp, req({ 'mcp-protocol-version': '2026-07-28' }, undefined, 'GET'))).toBe('stateless-2026-07-28');
    expect(classify(mcp, req({ 'mcp-protocol-version': '2026-07-28' }, undefined, 'DELETE'))).toBe(
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
  const stateless = { handle: jest.fn(() => Promise.resolve()) };
  const legacy = { handle: jest.fn(() => Promise.resolve()) };
  const dispatcher = new McpDispatcher(
    streamable as unknown as StreamableHttpHandler,
    stateless as unknown as StatelessHandler,
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

  it('hands a 2026-07-28 request to the stateless handler, and a 2025 one on the same URL to the 2025 handler', async () => {
    const modern = req({ 'mcp-protocol-version': '2026-07-28' }, modernCall) as unknown as FastifyRequest;
    await dispatcher.dispatch(modern, reply, mcp);
    expect(stateless.handle).toHaveBeenCalledWith(modern, reply, mcp);
    const older = req({}, initialize) as unknown as FastifyRequest;
    await dispatcher.dispatch(older, reply, mcp);
    expect(streamable.handle).toHaveBeenCalledWith(older, reply, mcp);
    expect(stateless.handle).toHaveBeenCalledTimes(1);
    expect(legacy.handle).not.toHaveBeenCalled();
  });
});
