/**
 * The engine's one error family. Everything the engine throws to its callers is an `EngineError` with a string
 * code; the HTTP layer maps codes to statuses in exactly one place (see `ENGINE_ERROR_HTTP_STATUS` for the
 * suggested mapping). Wire errors from upstream servers keep their JSON-RPC code, message and data in `details`.
 */
export enum EngineErrorCode {
  /** No server with that id is registered. */
  SERVER_NOT_FOUND = 'SERVER_NOT_FOUND',
  /** The server is down, parked, disabled, its circuit is open, or the gateway-wide queue is full. */
  SERVER_UNAVAILABLE = 'SERVER_UNAVAILABLE',
  /** The upstream connection died while the call was in flight (the call was sent; its fate is unknown). */
  CONNECTION_LOST = 'CONNECTION_LOST',
  /** The call (including any wait in the queue) exceeded its timeout; the upstream was sent `notifications/cancelled`. */
  TIMEOUT = 'TIMEOUT',
  /** The caller aborted; the upstream was sent `notifications/cancelled`. */
  CANCELLED = 'CANCELLED',
  /** The upstream answered with a JSON-RPC error: `details` = `{ rpcCode, rpcMessage, data }`. */
  UPSTREAM_ERROR = 'UPSTREAM_ERROR',
  /** The upstream sent something that is not valid MCP (malformed result, broken framing). */
  PROTOCOL_ERROR = 'PROTOCOL_ERROR',
  /** The serialized result exceeds `mcp.client.max-result-size`. */
  RESULT_TOO_LARGE = 'RESULT_TOO_LARGE',
  /** Arguments failed the tool's `inputSchema`: `details` = `{ errors: [{ path, message }] }`. */
  INVALID_PARAMETERS = 'INVALID_PARAMETERS',
  /** The tool, resource or prompt does not exist on the server. */
  NOT_FOUND = 'NOT_FOUND',
  /** A tool name exists on several servers and no server id was given: `details` = `{ servers }`. */
  AMBIGUOUS = 'AMBIGUOUS',
}

/** Suggested HTTP statuses; a new code without a status does not compile. */
export const ENGINE_ERROR_HTTP_STATUS = {
  [EngineErrorCode.SERVER_NOT_FOUND]: 404,
  [EngineErrorCode.SERVER_UNAVAILABLE]: 503,
  [EngineErrorCode.CONNECTION_LOST]: 502,
  [EngineErrorCode.TIMEOUT]: 504,
  [EngineErrorCode.CANCELLED]: 499,
  [EngineErrorCode.UPSTREAM_ERROR]: 502,
  [EngineErrorCode.PROTOCOL_ERROR]: 502,
  [EngineErrorCode.RESULT_TOO_LARGE]: 502,
  [EngineErrorCode.INVALID_PARAMETERS]: 400,
  [EngineErrorCode.NOT_FOUND]: 404,
  [EngineErrorCode.AMBIGUOUS]: 409,
} as const satisfies Record<EngineErrorCode, number>;

export interface ParameterError {
  /** JSON pointer of the offending field (`/user/name`), `''` for the root. */
  path: string;
  message: string;
}

export interface UpstreamErrorDetails {
  rpcCode: number;
  rpcMessage: string;
  data?: unknown;
}

export class EngineError extends Error {
  override readonly name = 'EngineError';

  constructor(
    readonly code: EngineErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  static serverNotFound(serverId: string): EngineError {
    return new EngineError(EngineErrorCode.SERVER_NOT_FOUND, `MCP server '${serverId}' is not registered`, {
      serverId,
    });
  }

  static unavailable(serverId: string, reason: string, details?: Record<string, unknown>): EngineError {
    return new EngineError(EngineErrorCode.SERVER_UNAVAILABLE, `MCP server '${serverId}' is unavailable: ${reason}`, {
      serverId,
      ...details,
    });
  }

  static upstream(serverId: string, rpc: UpstreamErrorDetails): EngineError {
    return new EngineError(
      EngineErrorCode.UPSTREAM_ERROR,
      `MCP server '${serverId}' returned an error: ${rpc.rpcMessage}`,
      {
        serverId,
        ...rpc,
      },
    );
  }

  static invalidParameters(toolName: string, errors: ParameterError[]): EngineError {
    const first = errors[0];
    const where = first ? ` (${first.path || '/'}: ${first.message})` : '';
    return new EngineError(EngineErrorCode.INVALID_PARAMETERS, `Invalid parameters for tool '${toolName}'${where}`, {
      tool: toolName,
      errors,
    });
  }
}

export const isEngineError = (e: unknown, code?: EngineErrorCode): e is EngineError =>
  e instanceof EngineError && (code === undefined || e.code === code);
