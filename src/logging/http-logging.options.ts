import type { IncomingMessage, ServerResponse } from 'node:http';
import type pino from 'pino';
import type { Options } from 'pino-http';
import { requestIdFor } from 'src/common/http/request-id';

/** Context of the per-request lines, so `logging.level.HttpRequest: WARN` keeps only 4xx/5xx. */
export const HTTP_LOG_CONTEXT = 'HttpRequest';

/** Key of the request id in every line logged while a request is handled (as in the error envelope). */
export const REQUEST_ID_LOG_KEY = 'request_id';

/** pino-http's own error for a 5xx without a thrown error; its stack points into pino-http, so it is left out. */
const SYNTHETIC_ERROR = /^failed with status code \d+$/;

type RawRequest = IncomingMessage & {
  originalUrl?: string;
  /** Express's matched route. */
  route?: { path?: unknown };
  baseUrl?: string;
  /** Fastify's route options, when a request object rather than the raw one is seen. */
  routeOptions?: { url?: unknown };
};

/** The path without the query string: queries carry tokens often enough that they stay out of logs. */
export function requestPath(req: RawRequest): string {
  const url = req.originalUrl ?? req.url ?? '';
  const query = url.indexOf('?');
  return query < 0 ? url : url.slice(0, query);
}

/** Liveness, readiness and scrape probes hit every few seconds; a line each would drown the log. */
export function isProbe(req: RawRequest): boolean {
  const path = requestPath(req);
  return path === '/actuator' || path.startsWith('/actuator/');
}

function routeTemplate(req: RawRequest): string | undefined {
  if (typeof req.routeOptions?.url === 'string') return req.routeOptions.url;
  if (typeof req.route?.path === 'string') return `${req.baseUrl ?? ''}${req.route.path}`;
  return undefined;
}

/** 5xx (or a thrown error) at error, 4xx at warn, the rest at info. */
export function requestLogLevel(_req: IncomingMessage, res: ServerResponse, error?: Error): pino.Level {
  if (error || res.statusCode >= 500) return 'error';
  if (res.statusCode >= 400) return 'warn';
  return 'info';
}

function requestFields(req: RawRequest, res: ServerResponse, responseTime: unknown): Record<string, unknown> {
  return {
    context: HTTP_LOG_CONTEXT,
    method: req.method,
    url: requestPath(req),
    route: routeTemplate(req),
    status: res.statusCode,
    durationMs: responseTime,
  };
}

/** Request objects stay out of log lines (see `serializers` below); their fields are logged one by one. */
function omitRequest(): undefined {
  return undefined;
}

/**
 * The `pinoHttp` options of nestjs-pino: every request gets `req.id` (the caller's `X-Request-Id` when it is
 * sane, else a UUID; the header is echoed by the Fastify adapter) and its lines carry `request_id`; one line per
 * finished request with method, path, route, status and duration, none for `/actuator/*`.
 */
export function httpLoggingOptions(root: pino.Logger): Options {
  return {
    logger: root,
    genReqId: (req) => requestIdFor(req),
    customAttributeKeys: { reqId: REQUEST_ID_LOG_KEY },
    // Lines logged inside a request carry its id only, not the whole request object.
    quietReqLogger: true,
    quietResLogger: true,
    // pino-http still builds a child logger bound to the whole request on every request (unused with the quiet
    // options above): serializing, redacting and stringifying it cost ~10 µs per request. Here the request
    // serializes to nothing, so that binding is dropped at once; errors keep the root logger's `err` serializer.
    wrapSerializers: false,
    serializers: { req: omitRequest },
    autoLogging: { ignore: (req) => isProbe(req) },
    customLogLevel: requestLogLevel,
    customSuccessMessage: () => 'request completed',
    customErrorMessage: () => 'request failed',
    customSuccessObject: (req: RawRequest, res: ServerResponse, value: { responseTime?: unknown }) =>
      requestFields(req, res, value.responseTime),
    customErrorObject: (req: RawRequest, res: ServerResponse, error: Error, value: { responseTime?: unknown }) => ({
      ...requestFields(req, res, value.responseTime),
      ...(SYNTHETIC_ERROR.test(error.message) ? {} : { err: error }),
    }),
  };
}
