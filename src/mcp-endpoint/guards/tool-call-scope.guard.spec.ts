import type { Principal } from 'src/auth/principal';
import { AppException } from 'src/common/errors/app.exception';
import { ToolCallScopeGuard } from './tool-call-scope.guard';

const principal = (...scopes: string[]): Principal => ({
  kind: 'api-key',
  id: 'k1',
  subject: 'k1',
  scopes: new Set(scopes),
  servers: null,
  tier: null,
});

const call = { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'echo', arguments: {} } };
const list = { jsonrpc: '2.0', id: 2, method: 'tools/list' };

describe('ToolCallScopeGuard', () => {
  const guard = new ToolCallScopeGuard();

  it('refuses a tools/call (alone or in a batch) without mcp:write: 403 with the scope challenge', () => {
    const cancel = { jsonrpc: '2.0', id: 3, method: 'tasks/cancel', params: { taskId: 't' } };
    for (const body of [call, [list, call], cancel]) {
      let error: unknown;
      try {
        guard.check({ principal: principal('mcp:read'), body });
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(AppException);
      expect((error as AppException).status).toBe(403);
      expect((error as AppException).details).toEqual({ required_scopes: ['mcp:write'] });
      expect((error as AppException).headers?.['WWW-Authenticate']).toContain('insufficient_scope');
    }
  });

  it('lets a tools/call through with mcp:write or mcp:admin', () => {
    expect(() => guard.check({ principal: principal('mcp:read', 'mcp:write'), body: call })).not.toThrow();
    expect(() => guard.check({ principal: principal('mcp:admin'), body: [call] })).not.toThrow();
  });

  it('needs nothing more for other methods, answers, bodiless requests or a public route', () => {
    const reader = principal('mcp:read');
    expect(() => guard.check({ principal: reader, body: list })).not.toThrow();
    const get = { jsonrpc: '2.0', id: 4, method: 'tasks/get', params: { taskId: 't' } };
    expect(() => guard.check({ principal: reader, body: get })).not.toThrow();
    expect(() => guard.check({ principal: reader, body: { jsonrpc: '2.0', id: 1, result: {} } })).not.toThrow();
    expect(() => guard.check({ principal: reader, body: undefined })).not.toThrow();
    expect(() => guard.check({ principal: undefined, body: call })).not.toThrow();
    // Not a JSON-RPC request (no id): the transport handler answers 400, not this guard.
    expect(() => guard.check({ principal: reader, body: { method: 'tools/call' } })).not.toThrow();
  });
});
