import { ProtocolError, SdkError, SdkErrorCode } from '@modelcontextprotocol/client';
import { ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';
import { EngineError, EngineErrorCode } from './engine-error';

/** setTimeout overflows above 2^31-1 ms. */
export const MAX_TIMER = 2_147_000_000;

/** Transport errors after which an HTTP/SSE session is dead (stdio deaths show as process exit instead). */
export const FATAL_NETWORK_ERROR =
  /fetch failed|ECONNREFUSED|ECONNRESET|EPIPE|socket hang up|other side closed|terminated|SSE error|Maximum reconnection attempts/i;

export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** What the error mapping needs to know of the call and of the connection it ran on. */
export interface FailedCall {
  serverId: string;
  method: string;
  timeoutMs: number;
  signal?: AbortSignal;
  /** performance.now() when the call was sent. */
  started: number;
  now: number;
  /** The connection is still open (else the failure is the connection's). */
  open: boolean;
  closeReason: string | undefined;
}

/** Results above `limit` serialized bytes fail RESULT_TOO_LARGE. */
export function checkSize(serverId: string, result: unknown, limit: number): void {
  // Cheap pre-check on string length (UTF-16 units <= UTF-8 bytes * 1) before counting bytes.
  const json = JSON.stringify(result);
  if (json.length > limit || Buffer.byteLength(json) > limit) {
    throw new EngineError(
      EngineErrorCode.RESULT_TOO_LARGE,
      `Result from '${serverId}' exceeds the limit of ${limit} bytes`,
      { serverId, limit, size: Buffer.byteLength(json) },
    );
  }
}

/**
 * A failed request as the engine reports it, whichever SDK generation carried it: SDK 1 (`McpError`, numeric codes)
 * on the 2025 revisions, SDK 2 (`ProtocolError` for the upstream's JSON-RPC errors, `SdkError` with string codes for
 * local conditions) on 2026-07-28. Same answers for the same conditions: the caller's cancel is CANCELLED, the SDK's
 * own timer TIMEOUT, a connection that went away CONNECTION_LOST, the upstream's error UPSTREAM_ERROR.
 */
export function toEngineError(e: unknown, call: FailedCall): EngineError {
  if (e instanceof EngineError) return e;
  const { serverId, method } = call;
  if (call.signal?.aborted) {
    return new EngineError(EngineErrorCode.CANCELLED, `'${method}' on '${serverId}' was cancelled by the caller`, {
      serverId,
    });
  }
  if (isSdkTimeout(e) && call.now - call.started >= Math.min(call.timeoutMs, MAX_TIMER) - 1) {
    return new EngineError(
      EngineErrorCode.TIMEOUT,
      `'${method}' on '${serverId}' timed out after ${call.timeoutMs} ms`,
      {
        serverId,
        timeoutMs: call.timeoutMs,
      },
    );
  }
  const lost = (reason: string, cause?: unknown) =>
    new EngineError(
      EngineErrorCode.CONNECTION_LOST,
      `Connection to '${serverId}' was lost during '${method}': ${reason}`,
      { serverId, reason },
      cause === undefined ? undefined : { cause },
    );
  if (e instanceof McpError || e instanceof ProtocolError) {
    if (e.code === (ErrorCode.ConnectionClosed as number) || !call.open) return lost(call.closeReason ?? e.message, e);
    return EngineError.upstream(serverId, {
      rpcCode: e.code,
      rpcMessage: e.message.replace(/^MCP error -?\d+: /, ''),
      data: e.data,
    });
  }
  if (e instanceof SdkError && e.code === SdkErrorCode.ConnectionClosed) return lost(call.closeReason ?? e.message, e);
  // A 2025 method the 2026-07-28 revision dropped (`logging/setLevel`): the upstream has no
  // such method on this revision, said as a 2025 upstream without it would say it.
  if (e instanceof SdkError && e.code === SdkErrorCode.MethodNotSupportedByProtocolVersion)
    return EngineError.upstream(serverId, { rpcCode: ErrorCode.MethodNotFound, rpcMessage: e.message });
  if (!call.open) {
    return new EngineError(EngineErrorCode.CONNECTION_LOST, `Connection to '${serverId}' was lost during '${method}'`, {
      serverId,
      reason: call.closeReason ?? errorMessage(e),
    });
  }
  // A stateless (2026-07-28) HTTP request whose upstream went away fails with the fetch error itself.
  if (e instanceof Error && FATAL_NETWORK_ERROR.test(`${e.name} ${e.message}`)) return lost(e.message, e);
  if (e instanceof Error && /Not connected/.test(e.message)) return EngineError.unavailable(serverId, 'not connected');
  return new EngineError(
    EngineErrorCode.PROTOCOL_ERROR,
    `Invalid response from '${serverId}' to '${method}': ${errorMessage(e).slice(0, 500)}`,
    { serverId },
    { cause: e },
  );
}

/**
 * The SDK's own timeout, as opposed to an upstream error: SDK 1's `McpError` RequestTimeout ("Request timed out",
 * `data.timeout`), SDK 2's `SdkError` `REQUEST_TIMEOUT` (the same message and data).
 */
function isSdkTimeout(e: unknown): boolean {
  const timedOut =
    (e instanceof McpError && e.code === (ErrorCode.RequestTimeout as number)) ||
    (e instanceof SdkError && e.code === SdkErrorCode.RequestTimeout);
  return (
    timedOut &&
    /Request timed out/.test((e as Error).message) &&
    typeof ((e as { data?: unknown }).data as { timeout?: unknown } | undefined)?.timeout === 'number'
  );
}
