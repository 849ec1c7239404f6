import { AppException } from 'src/common/errors/app.exception';
import { ErrorCode } from 'src/common/errors/error-code';
import { EngineError, EngineErrorCode } from 'src/mcp/engine-error';
import { RESOURCE_NOT_FOUND_RPC, toMcpError } from './mcp-errors';

describe('toMcpError', () => {
  it('maps invalid parameters and unknown tools to -32602 with the gateway code in data', () => {
    const invalid = toMcpError(new EngineError(EngineErrorCode.INVALID_PARAMETERS, 'message must be string'));
    expect(invalid.code).toBe(-32602);
    expect(invalid.data).toMatchObject({ code: ErrorCode.INVALID_PARAMETERS });
    expect(toMcpError(AppException.notFound("Tool 'x'"), 'tool').code).toBe(-32602);
    expect(toMcpError(AppException.notFound('Resource'), 'resource').code).toBe(RESOURCE_NOT_FOUND_RPC);
  });

  it("passes an upstream's JSON-RPC error through with its code and message", () => {
    const error = toMcpError(EngineError.upstream('s', { rpcCode: -32050, rpcMessage: 'deliberate', data: { a: 1 } }));
    expect(error.code).toBe(-32050);
    expect(error.message).toContain('deliberate');
    expect(error.data).toEqual({ a: 1 });
  });

  it('maps timeouts to RequestTimeout and anything unknown to InternalError without details of the cause', () => {
    expect(toMcpError(new EngineError(EngineErrorCode.TIMEOUT, 'slow')).code).toBe(-32001);
    const unknown = toMcpError(new Error('secret stack detail'));
    expect(unknown.code).toBe(-32603);
    expect(unknown.message).not.toContain('secret');
  });
});

describe('toMcpError for an oauth-user server the user has not authorised', () => {
  it('is the 2025-11-25 URL elicitation error (-32042) naming the link, its id and the message', () => {
    const url = 'https://gw.example/api/connections/start?link=abc';
    const error = toMcpError(
      new EngineError(EngineErrorCode.USER_AUTHORIZATION_REQUIRED, `authorise at ${url}`, {
        serverId: 'github',
        authorizationUrl: url,
        elicitationId: 'nonce-1',
      }),
    );
    expect(error.code).toBe(-32042);
    expect(error.message).toContain(url);
    expect(error.data).toEqual({
      elicitations: [{ mode: 'url', elicitationId: 'nonce-1', url, message: `authorise at ${url}` }],
    });
  });
});
