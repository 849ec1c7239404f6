import { ErrorCode as RpcCode, type RequestId } from '@modelcontextprotocol/sdk/types.js';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { REQUEST_ID_HEADER } from 'src/common/http/request-id';

/** Nothing to send: what a direct call could say besides its result needs an event stream. */
export const sent = (): Promise<void> => Promise.resolve();

/** The JSON-RPC error object an SDK answers for an error thrown by a request handler. */
export function rpcError(error: unknown): { code: number; message: string; data?: unknown } {
  const e = error as { code?: unknown; message?: unknown; data?: unknown };
  return {
    code: Number.isSafeInteger(e.code) ? (e.code as number) : RpcCode.InternalError,
    message: typeof e.message === 'string' ? e.message : 'Internal error',
    ...(e.data !== undefined && { data: e.data }),
  };
}

/**
 * Runs one call of a direct path (direct-tool-call.ts, direct-stateless-call.ts) and writes its JSON-RPC response as
 * the SDKs' JSON answers are written: 200, `application/json`, the request id header. `signal` fires when the client
 * hangs up before the answer (the call is then cancelled upstream, as on the SDK paths).
 */
export async function answerDirectly(
  request: FastifyRequest,
  reply: FastifyReply,
  id: RequestId,
  hangUp: AbortController,
  call: () => Promise<unknown>,
  error: (thrown: unknown) => unknown,
  headers: Record<string, string> = {},
): Promise<void> {
  const raw = reply.raw;
  const onClose = () => {
    if (!raw.writableFinished) hangUp.abort(new Error('client disconnected'));
  };
  raw.once('close', onClose);
  let response: Record<string, unknown>;
  try {
    response = { result: await call(), jsonrpc: '2.0', id };
  } catch (thrown) {
    response = { jsonrpc: '2.0', id, error: error(thrown) };
  } finally {
    raw.removeListener('close', onClose);
  }
  await reply
    .status((response.error as { code?: number } | undefined)?.code === -32021 ? 400 : 200) // 2026-07-28: -32021 is a 400
    .header(REQUEST_ID_HEADER, String(request.id))
    .headers(headers)
    .header('content-type', 'application/json')
    .send(JSON.stringify(response));
}
