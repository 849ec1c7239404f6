import { AppException } from 'src/common/errors/app.exception';
import { EngineError, EngineErrorCode } from 'src/mcp/engine-error';
import type { McpEngine } from 'src/mcp/mcp-engine';
import type { ServersService } from 'src/servers/servers.service';
import { MessagesService } from './messages.service';

function setup() {
  const engine = { request: jest.fn(), notify: jest.fn().mockResolvedValue(undefined) };
  const servers = {
    find: jest.fn((id: string) => {
      if (id !== 'a') throw AppException.notFound(`Server '${id}'`);
      return { id };
    }),
  };
  return { engine, service: new MessagesService(engine as unknown as McpEngine, servers as unknown as ServersService) };
}

describe('MessagesService', () => {
  it('answers a request with the upstream result under the caller’s id', async () => {
    const { service, engine } = setup();
    engine.request.mockResolvedValue({ tools: [] });
    const signal = new AbortController().signal;
    await expect(service.send('a', { jsonrpc: '2.0', id: 'x-1', method: 'tools/list' }, signal)).resolves.toEqual({
      jsonrpc: '2.0',
      id: 'x-1',
      result: { tools: [] },
    });
    expect(engine.request).toHaveBeenCalledWith('a', 'tools/list', undefined, { signal });
  });

  it('passes an upstream JSON-RPC error through as a JSON-RPC error response', async () => {
    const { service, engine } = setup();
    engine.request.mockRejectedValue(
      EngineError.upstream('a', { rpcCode: -32601, rpcMessage: 'Method not found', data: { m: 'x' } }),
    );
    await expect(service.send('a', { jsonrpc: '2.0', id: 0, method: 'x' })).resolves.toEqual({
      jsonrpc: '2.0',
      id: 0,
      error: { code: -32601, message: 'Method not found', data: { m: 'x' } },
    });
  });

  it('lets gateway-side failures (timeout, down) propagate for the error envelope', async () => {
    const { service, engine } = setup();
    const timeout = new EngineError(EngineErrorCode.TIMEOUT, 'timed out');
    engine.request.mockRejectedValue(timeout);
    await expect(service.send('a', { jsonrpc: '2.0', id: 1, method: 'ping' })).rejects.toBe(timeout);
  });

  it('sends a message without id as a notification and returns nothing', async () => {
    const { service, engine } = setup();
    await expect(
      service.send('a', { jsonrpc: '2.0', method: 'notifications/roots/list_changed' }),
    ).resolves.toBeUndefined();
    expect(engine.notify).toHaveBeenCalledWith('a', 'notifications/roots/list_changed', undefined);
    expect(engine.request).not.toHaveBeenCalled();
  });

  it('answers 400 when the SDK client refuses a notification the session did not declare', async () => {
    const { service, engine } = setup();
    engine.notify.mockRejectedValue(new Error('Client does not support roots list changed notifications'));
    await expect(
      service.send('a', { jsonrpc: '2.0', method: 'notifications/roots/list_changed' }),
    ).rejects.toMatchObject({
      status: 400,
      message: expect.stringContaining('does not support roots'),
    });
  });

  it('404s an unknown server before touching the engine', async () => {
    const { service, engine } = setup();
    await expect(service.send('zz', { jsonrpc: '2.0', id: 1, method: 'ping' })).rejects.toMatchObject({ status: 404 });
    expect(engine.request).not.toHaveBeenCalled();
  });
});
