/**
 * The engine's one error family. Everything the engine throws to its callers is an `EngineError` with a string
 * code; `ENGINE_ERROR_API_CODE` below is the one place that says which public API error each code becomes. Wire
 * errors from upstream servers keep their JSON-RPC code, message and data in `details`.
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
  /**
   * The upstream acts on behalf of the caller, and the caller's credential cannot give it one: no bearer token to
   * exchange, a claim missing, or the authorization server refused the exchange (ADR 0007).
   */
  UPSTREAM_AUTHORIZATION_REQUIRED = 'UPSTREAM_AUTHORIZATION_REQUIRED',
  /**
   * The upstream acts for each user (`oauth-user`) and the caller has no usable authorisation of it (never given,
   * revoked, or its refresh refused): `details.authorizationUrl` is where the user gives it (ADR 0011).
   */
  USER_AUTHORIZATION_REQUIRED = 'USER_AUTHORIZATION_REQUIRED',
}

/**
 * The public API error code (the error envelope's `code`) of each engine error: the one mapping, a new engine code
 * without one does not compile. Plain strings, so the engine imports nothing of the HTTP layer; they are checked
 * against the API's `ErrorCode` where `translateEngineError` is handed to `toAppException` (src/common/errors), and
 * the HTTP status follows from the API code there (`ERROR_STATUS`), so there is no second status table to drift.
 * A cancelled call is a failed tool execution to the API (502), as a lost connection is.
 */
export const ENGINE_ERROR_API_CODE = {
  [EngineErrorCode.SERVER_NOT_FOUND]: 'RESOURCE_NOT_FOUND',
  [EngineErrorCode.SERVER_UNAVAILABLE]: 'SERVER_UNAVAILABLE',
  [EngineErrorCode.CONNECTION_LOST]: 'TOOL_EXECUTION_FAILED',
  [EngineErrorCode.TIMEOUT]: 'TIMEOUT_EXCEEDED',
  [EngineErrorCode.CANCELLED]: 'TOOL_EXECUTION_FAILED',
  [EngineErrorCode.UPSTREAM_ERROR]: 'TOOL_EXECUTION_FAILED',
  [EngineErrorCode.PROTOCOL_ERROR]: 'TOOL_EXECUTION_FAILED',
  [EngineErrorCode.RESULT_TOO_LARGE]: 'TOOL_EXECUTION_FAILED',
  [EngineErrorCode.INVALID_PARAMETERS]: 'INVALID_PARAMETERS',
  [EngineErrorCode.NOT_FOUND]: 'RESOURCE_NOT_FOUND',
  [EngineErrorCode.AMBIGUOUS]: 'CONFLICT',
  [EngineErrorCode.UPSTREAM_AUTHORIZATION_REQUIRED]: 'AUTHORIZATION_DENIED',
  [EngineErrorCode.USER_AUTHORIZATION_REQUIRED]: 'UPSTREAM_AUTHORIZATION_REQUIRED',
} as const satisfies Record<EngineErrorCode, string>;

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

/** An engine error as the public API shows it: its API code, message, and details with the API's snake_case keys. */
export interface PublicEngineError {
  code: (typeof ENGINE_ERROR_API_CODE)[EngineErrorCode];
  message: string;
  details: Record<string, unknown>;
}

const snake = (key: string) => key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/** The public form of an engine error (`reason` names the engine code), or undefined for any other error. */
export function translateEngineError(error: unknown): PublicEngineError | undefined {
  if (!(error instanceof EngineError)) return undefined;
  const details = error.details ? Object.fromEntries(Object.entries(error.details).map(([k, v]) => [snake(k), v])) : {};
  return {
    code: ENGINE_ERROR_API_CODE[error.code],
    message: error.message,
    details: { reason: error.code, ...details },
  };
}
