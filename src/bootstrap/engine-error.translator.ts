import { AppException } from 'src/common/errors/app.exception';
import { ErrorCode } from 'src/common/errors/error-code';
import { EngineError, EngineErrorCode } from 'src/mcp/engine-error';

/** The one place where the MCP engine's errors become public API errors. */
const CODE_FOR: Record<EngineErrorCode, ErrorCode> = {
  [EngineErrorCode.SERVER_NOT_FOUND]: ErrorCode.RESOURCE_NOT_FOUND,
  [EngineErrorCode.SERVER_UNAVAILABLE]: ErrorCode.SERVER_UNAVAILABLE,
  [EngineErrorCode.CONNECTION_LOST]: ErrorCode.TOOL_EXECUTION_FAILED,
  [EngineErrorCode.TIMEOUT]: ErrorCode.TIMEOUT_EXCEEDED,
  [EngineErrorCode.CANCELLED]: ErrorCode.TOOL_EXECUTION_FAILED,
  [EngineErrorCode.UPSTREAM_ERROR]: ErrorCode.TOOL_EXECUTION_FAILED,
  [EngineErrorCode.PROTOCOL_ERROR]: ErrorCode.TOOL_EXECUTION_FAILED,
  [EngineErrorCode.RESULT_TOO_LARGE]: ErrorCode.TOOL_EXECUTION_FAILED,
  [EngineErrorCode.INVALID_PARAMETERS]: ErrorCode.INVALID_PARAMETERS,
  [EngineErrorCode.NOT_FOUND]: ErrorCode.RESOURCE_NOT_FOUND,
  [EngineErrorCode.AMBIGUOUS]: ErrorCode.CONFLICT,
};

const snake = (key: string) => key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

export function translateEngineError(error: unknown): AppException | undefined {
  if (!(error instanceof EngineError)) return undefined;
  const details = error.details ? Object.fromEntries(Object.entries(error.details).map(([k, v]) => [snake(k), v])) : {};
  return new AppException(CODE_FOR[error.code], error.message, { reason: error.code, ...details });
}
