import { HttpException } from '@nestjs/common';
import { EngineError, EngineErrorCode, translateEngineError } from 'src/mcp/engine-error';
import { AppException } from './app.exception';
import { ErrorCode } from './error-code';
import { toAppException } from './to-app-exception';

const viaEngine = (error: unknown) => toAppException(error, [translateEngineError]);

describe('toAppException', () => {
  it('keeps an AppException as it is', () => {
    const error = AppException.notFound('Server github');
    expect(viaEngine(error)).toEqual({ exception: error, unexpected: false });
  });

  it('answers a cancelled engine call as a failed tool execution (502), naming the engine code as reason', () => {
    const { exception, unexpected } = viaEngine(new EngineError(EngineErrorCode.CANCELLED, 'Call cancelled'));
    expect(unexpected).toBe(false);
    expect(exception).toMatchObject({ code: ErrorCode.TOOL_EXECUTION_FAILED, status: 502, message: 'Call cancelled' });
    expect(exception.details).toEqual({ reason: 'CANCELLED' });
  });

  it('maps an unknown server to 404 and writes the engine details with snake_case keys', () => {
    const { exception } = viaEngine(EngineError.serverNotFound('github'));
    expect(exception).toMatchObject({ code: ErrorCode.RESOURCE_NOT_FOUND, status: 404 });
    expect(exception.details).toEqual({ reason: 'SERVER_NOT_FOUND', server_id: 'github' });
  });

  it.each([
    [EngineErrorCode.SERVER_UNAVAILABLE, 503],
    [EngineErrorCode.TIMEOUT, 504],
    [EngineErrorCode.INVALID_PARAMETERS, 400],
    [EngineErrorCode.AMBIGUOUS, 409],
    [EngineErrorCode.CONNECTION_LOST, 502],
  ])('answers engine code %s with HTTP %i', (code, status) => {
    expect(viaEngine(new EngineError(code, 'x')).exception.status).toBe(status);
  });

  it('leaves an engine error unexpected (500, no details) when no translator is given', () => {
    const { exception, unexpected } = toAppException(new EngineError(EngineErrorCode.TIMEOUT, 'slow'));
    expect(unexpected).toBe(true);
    expect(exception).toMatchObject({ code: ErrorCode.SERVER_ERROR, status: 500, message: 'Internal server error' });
  });

  it('maps a Nest HttpException by its status and flags 5xx as unexpected', () => {
    expect(toAppException(new HttpException('gone', 404))).toMatchObject({
      exception: { code: ErrorCode.RESOURCE_NOT_FOUND, message: 'gone' },
      unexpected: false,
    });
    expect(toAppException(new HttpException('boom', 500)).unexpected).toBe(true);
  });
});
