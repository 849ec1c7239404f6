import { ErrorCode as RpcCode, McpError, UrlElicitationRequiredError } from '@modelcontextprotocol/sdk/types.js';
import { translateEngineError } from 'src/mcp/engine-error';
import { toAppException } from 'src/common/errors/to-app-exception';
import { ErrorCode } from 'src/common/errors/error-code';

/** JSON-RPC code of "resource not found" (MCP specification, resources). */
export const RESOURCE_NOT_FOUND_RPC = -32002;

/**
 * The one mapping from the gateway's errors (AppException, EngineError) to JSON-RPC errors on the MCP endpoint. The
 * gateway's code and details travel in `data` (`{code, details}`), as the envelope carries them on REST; an upstream's
 * own JSON-RPC error passes through with its code and message.
 */
export function toMcpError(error: unknown, what: 'tool' | 'resource' | 'prompt' | 'request' = 'request'): McpError {
  if (error instanceof McpError) return error;
  const { exception } = toAppException(error, [translateEngineError]);
  const details = (exception.details ?? {}) as Record<string, unknown>;
  const data = { code: exception.code, details: exception.details ?? null };
  switch (exception.code) {
    case ErrorCode.INVALID_PARAMETERS:
      return new McpError(RpcCode.InvalidParams, exception.message, data);
    case ErrorCode.RESOURCE_NOT_FOUND:
      return new McpError(
        what === 'resource' ? RESOURCE_NOT_FOUND_RPC : RpcCode.InvalidParams,
        exception.message,
        data,
      );
    case ErrorCode.TIMEOUT_EXCEEDED:
      return new McpError(RpcCode.RequestTimeout, exception.message, data);
    case ErrorCode.TOOL_EXECUTION_FAILED:
      if (typeof details.rpc_code === 'number') {
        return new McpError(
          details.rpc_code,
          typeof details.rpc_message === 'string' ? details.rpc_message : exception.message,
          details.data ?? data,
        );
      }
      return new McpError(RpcCode.InternalError, exception.message, data);
    case ErrorCode.AUTHORIZATION_DENIED:
    case ErrorCode.AUTHENTICATION_FAILED:
    case ErrorCode.CONFLICT:
    case ErrorCode.METHOD_NOT_ALLOWED:
    case ErrorCode.PAYLOAD_TOO_LARGE:
    case ErrorCode.UNSUPPORTED_MEDIA_TYPE:
    case ErrorCode.RATE_LIMIT_EXCEEDED:
      return new McpError(RpcCode.InvalidRequest, exception.message, data);
    case ErrorCode.SERVER_ERROR:
    case ErrorCode.SERVER_UNAVAILABLE:
      return new McpError(RpcCode.InternalError, exception.message, data);
    case ErrorCode.UPSTREAM_AUTHORIZATION_REQUIRED:
      // An `oauth-user` server the user has not authorised (ADR 0011): the 2025-11-25 URL-mode elicitation error
      // (-32042), which a client answers by opening the URL and calling again. Its message names the URL too, for a
      // client of an earlier revision that only shows messages.
      if (typeof details.authorization_url === 'string')
        return new UrlElicitationRequiredError(
          [
            {
              mode: 'url',
              elicitationId:
                typeof details.elicitation_id === 'string' ? details.elicitation_id : details.authorization_url,
              url: details.authorization_url,
              message: exception.message,
            },
          ],
          exception.message,
        );
      return new McpError(RpcCode.InvalidRequest, exception.message, data);
  }
}
