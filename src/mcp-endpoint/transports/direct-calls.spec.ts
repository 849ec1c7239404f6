import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import type { FastifyRequest } from 'fastify';
import { DirectStatelessCall } from './direct-stateless-call';
import { DirectToolCall } from './direct-tool-call';

const ENVELOPE = {
  'io.modelcontextprotocol/protocolVersion': '2026-07-28',
  'io.modelcontextprotocol/clientCapabilities': {},
  'io.modelcontextprotocol/clientInfo': { name: 'raw', version: '1.0.0' },
};

function modern(
  params: Record<string, unknown> = { name: 'echo', arguments: { message: 'hi' }, _meta: ENVELOPE },
  headers: Record<string, string | undefined> = {},
): FastifyRequest {
  return {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      'mcp-protocol-version': '2026-07-28',
      'mcp-method': 'tools/call',
      'mcp-name': String(params.name),
      ...headers,
    },
    body: { jsonrpc: '2.0', id: 1, method: 'tools/call', params },
  } as unknown as FastifyRequest;
}

describe('DirectStatelessCall.eligible (2026-07-28)', () => {
  it('takes a plain tools/call of a client that asks for nothing but the result', () => {
    expect(DirectStatelessCall.eligible(modern())).toEqual({
      id: 1,
      params: { name: 'echo', arguments: { message: 'hi' }, _meta: ENVELOPE },
    });
    const { 'io.modelcontextprotocol/clientInfo': _info, ...noInfo } = ENVELOPE;
    expect(DirectStatelessCall.eligible(modern({ name: 'echo', _meta: noInfo }))).toBeDefined();
  });

  it.each([
    ['a declared capability', { 'io.modelcontextprotocol/clientCapabilities': { elicitation: {} } }],
    ['the Tasks extension', { 'io.modelcontextprotocol/clientCapabilities': { extensions: { x: {} } } }],
    ['a log level', { 'io.modelcontextprotocol/logLevel': 'debug' }],
    ['a progress token', { progressToken: 1 }],
    ['another revision', { 'io.modelcontextprotocol/protocolVersion': '2099-01-01' }],
    ['a client info with more fields', { 'io.modelcontextprotocol/clientInfo': { name: 'a', version: '1', x: 1 } }],
  ])('leaves %s to the SDK', (_what, meta) => {
    expect(DirectStatelessCall.eligible(modern({ name: 'echo', _meta: { ...ENVELOPE, ...meta } }))).toBeUndefined();
  });

  it.each([
    ['an Mcp-Name that differs', { 'mcp-name': 'other' }],
    ['no MCP-Protocol-Version', { 'mcp-protocol-version': undefined }],
    ['another Mcp-Method', { 'mcp-method': 'tools/list' }],
    ['an Mcp-Param header', { 'mcp-param-region': 'eu' }],
    ['a session id', { 'mcp-session-id': 'abc' }],
    ['a form body', { 'content-type': 'application/x-www-form-urlencoded' }],
    ['an Accept without event streams', { accept: 'application/json' }],
  ])('leaves a request with %s to the SDK', (_what, headers) => {
    expect(DirectStatelessCall.eligible(modern(undefined, headers))).toBeUndefined();
  });

  it('leaves requestState, odd names and malformed arguments to the SDK', () => {
    expect(DirectStatelessCall.eligible(modern({ name: 'echo', _meta: ENVELOPE, requestState: 's' }))).toBeUndefined();
    expect(DirectStatelessCall.eligible(modern({ name: 'é', _meta: ENVELOPE }))).toBeUndefined();
    expect(DirectStatelessCall.eligible(modern({ name: 'echo', arguments: [1], _meta: ENVELOPE }))).toBeUndefined();
    expect(DirectStatelessCall.eligible(modern({ name: 'echo' }))).toBeUndefined();
  });
});

describe('DirectToolCall.eligible (2025 sessions)', () => {
  const request = (headers: Record<string, string> = {}) =>
    ({
      method: 'POST',
      headers: { 'content-type': 'application/json', 'mcp-protocol-version': '2025-11-25', ...headers },
    }) as unknown as FastifyRequest;
  const callOf = (params: unknown): JSONRPCMessage[] =>
    [{ jsonrpc: '2.0', id: 3, method: 'tools/call', params }] as JSONRPCMessage[];

  it('takes one plain tools/call', () => {
    expect(DirectToolCall.eligible(request(), callOf({ name: 'echo', arguments: { m: 1 } }))).toMatchObject({ id: 3 });
    expect(
      DirectToolCall.eligible(request({ 'mcp-protocol-version': '2025-06-18' }), callOf({ name: 'e' })),
    ).toBeDefined();
  });

  it('leaves batches, other methods, progress, tasks, unknown versions and odd params to the SDK', () => {
    const plain = callOf({ name: 'echo' });
    expect(DirectToolCall.eligible(request(), [...plain, ...plain])).toBeUndefined();
    expect(DirectToolCall.eligible(request(), [{ jsonrpc: '2.0', id: 1, method: 'tools/list' }])).toBeUndefined();
    expect(DirectToolCall.eligible(request(), callOf({ name: 'e', _meta: { progressToken: 1 } }))).toBeUndefined();
    expect(
      DirectToolCall.eligible(request(), callOf({ name: 'e', _meta: { 'io.modelcontextprotocol/related-task': {} } })),
    ).toBeUndefined();
    expect(DirectToolCall.eligible(request(), callOf({ name: 'e', task: { ttl: 1 } }))).toBeUndefined();
    expect(DirectToolCall.eligible(request({ 'mcp-protocol-version': '1999-01-01' }), plain)).toBeUndefined();
    expect(DirectToolCall.eligible(request({ 'content-type': 'text/plain' }), plain)).toBeUndefined();
    expect(DirectToolCall.eligible(request(), callOf({ arguments: {} }))).toBeUndefined();
    expect(DirectToolCall.eligible(request(), callOf({ name: 'e', arguments: 'x' }))).toBeUndefined();
  });
});
