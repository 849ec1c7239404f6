import type { FastifyReply } from 'fastify';

/**
 * Headers of a Server-Sent Events answer whose body is a stream (sent through Fastify, so its hooks still apply).
 * `Connection: close`: a stream that ends while the gateway stops would otherwise leave an idle keep-alive connection
 * that holds the listener's close for the whole grace period; an event stream gains nothing from keep-alive anyway.
 */
export function prepareEventStream(reply: FastifyReply): void {
  void reply
    .status(200)
    .header('content-type', 'text/event-stream; charset=utf-8')
    .header('cache-control', 'no-cache, no-transform')
    .header('x-accel-buffering', 'no')
    .header('connection', 'close');
}
