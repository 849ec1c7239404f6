import type { FastifyReply } from 'fastify';

/**
 * An AbortSignal that fires when the HTTP client goes away before its response is written, so the work done for
 * it (an upstream MCP call) is cancelled instead of running on for nobody.
 */
export function abortOnClientDisconnect(reply: FastifyReply): AbortSignal {
  const controller = new AbortController();
  reply.raw.once('close', () => {
    if (!reply.raw.writableFinished) controller.abort(new Error('client disconnected'));
  });
  return controller.signal;
}
