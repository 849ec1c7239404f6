import { Inject, Injectable } from '@nestjs/common';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { PinoLogger } from 'nestjs-pino';
import type pino from 'pino';
import { ROOT_LOGGER } from './logging.tokens';

/** Context of the per-request lines, so `logging.level.HttpRequest: WARN` keeps only 4xx/5xx. */
export const HTTP_LOG_CONTEXT = 'HttpRequest';

/** Key of the request id in every line logged while a request is handled (as in the error envelope). */
export const REQUEST_ID_LOG_KEY = 'request_id';

/** The path without the query string: queries carry tokens often enough that they stay out of logs. */
export function requestPath(url: string): string {
  const query = url.indexOf('?');
  return query < 0 ? url : url.slice(0, query);
}

/** Liveness, readiness and scrape probes hit every few seconds; a line each would drown the log. */
export function isProbe(path: string): boolean {
  return path === '/actuator' || path.startsWith('/actuator/');
}

/** 5xx at error, 4xx at warn, the rest at info. */
export function requestLogLevel(status: number): pino.Level {
  if (status >= 500) return 'error';
  if (status >= 400) return 'warn';
  return 'info';
}

/**
 * The per-request side of logging, as two Fastify hooks on the listener it is attached to:
 * - every line logged while a request is handled (Nest's `Logger`, through nestjs-pino) carries its `request_id`
 *   (Fastify's `request.id`: the caller's sane `X-Request-Id`, else a UUID), through nestjs-pino's public
 *   `runInContext`;
 * - one line when the request finishes: method, path (never the query), route template, status, duration, at
 *   info/warn/error by status; none for `/actuator/*` probes. Hijacked replies (the MCP endpoint's streams) are
 *   logged too: Fastify runs `onResponse` when the raw response finishes.
 *
 * Why not pino-http (nestjs-pino's default middleware): it builds a child logger, response listeners and
 * serializers per request; the same line written from a hook cost ~75 µs less per request in the bench (CPU time
 * of the gateway process, `bench/` A/B), a quarter of the gateway's whole per-request CPU.
 */
@Injectable()
export class RequestLogging {
  constructor(
    @Inject(ROOT_LOGGER) private readonly root: pino.Logger,
    private readonly context: PinoLogger,
  ) {}

  attach(fastify: FastifyInstance): void {
    fastify.addHook('onRequest', (request, _reply, done) => {
      this.context.runInContext(done, { bindings: { [REQUEST_ID_LOG_KEY]: request.id } });
    });
    fastify.addHook('onResponse', (request, reply, done) => {
      this.logFinished(request, reply);
      done();
    });
  }

  private logFinished(request: FastifyRequest, reply: FastifyReply): void {
    const url = requestPath(request.url);
    if (isProbe(url)) return;
    const status = reply.statusCode;
    const route = request.routeOptions.url;
    this.root[requestLogLevel(status)](
      {
        [REQUEST_ID_LOG_KEY]: request.id,
        context: HTTP_LOG_CONTEXT,
        method: request.method,
        url,
        ...(route !== undefined ? { route } : {}),
        status,
        durationMs: Math.round(reply.elapsedTime),
      },
      status >= 500 ? 'request failed' : 'request completed',
    );
  }
}
