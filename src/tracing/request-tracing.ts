import {
  type Context,
  context,
  propagation,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  trace,
  type Tracer,
} from '@opentelemetry/api';
import {
  ATTR_CLIENT_ADDRESS,
  ATTR_ERROR_TYPE,
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_HTTP_ROUTE,
  ATTR_NETWORK_PROTOCOL_VERSION,
  ATTR_URL_PATH,
  ATTR_URL_SCHEME,
  ATTR_USER_AGENT_ORIGINAL,
} from '@opentelemetry/semantic-conventions';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { requestPath } from 'src/logging/request-logging';

declare module 'fastify' {
  interface FastifyRequest {
    /** The request's trace context (its server span as the active one); null while tracing is off. */
    traceContext: Context | null;
  }
}

/**
 * A server span per HTTP request, as Fastify hooks on the API listener (attached only when tracing is on):
 * - `onRequest` continues the caller's trace from its W3C `traceparent` (or starts one), names the span
 *   `METHOD /route/template` with the HTTP semantic-convention attributes, and makes it the active context;
 * - `preValidation` makes it active again: Fastify reads the body from stream events, which run outside the
 *   request's async context, so the guards, the handler and the error filter would otherwise see none;
 * - `onResponse` records the status (an error status for 5xx) and ends the span, then runs the hooks after it (the
 *   request log line) inside the context, so that line carries the trace id too; `onRequestAbort` ends it as well.
 */
export function attachRequestTracing(fastify: FastifyInstance, tracer: Tracer): void {
  fastify.decorateRequest('traceContext', null);

  fastify.addHook('onRequest', (request, _reply, done) => {
    const parent = propagation.extract(ROOT_CONTEXT, request.headers);
    const route = request.routeOptions.url;
    const span = tracer.startSpan(
      route === undefined ? request.method : `${request.method} ${route}`,
      {
        kind: SpanKind.SERVER,
        attributes: {
          [ATTR_HTTP_REQUEST_METHOD]: request.method,
          // Never the query: queries carry tokens often enough that they stay out of traces, as out of logs.
          [ATTR_URL_PATH]: requestPath(request.url),
          [ATTR_URL_SCHEME]: request.protocol,
          [ATTR_CLIENT_ADDRESS]: request.ip,
          [ATTR_NETWORK_PROTOCOL_VERSION]: request.raw.httpVersion,
          ...(route !== undefined ? { [ATTR_HTTP_ROUTE]: route } : {}),
          ...(request.headers['user-agent'] !== undefined
            ? { [ATTR_USER_AGENT_ORIGINAL]: request.headers['user-agent'] }
            : {}),
        },
      },
      parent,
    );
    const active = trace.setSpan(parent, span);
    request.traceContext = active;
    context.with(active, done);
  });

  fastify.addHook('preValidation', (request, _reply, done) => {
    if (request.traceContext) context.with(request.traceContext, done);
    else done();
  });

  fastify.addHook('onResponse', (request, reply, done) => {
    const active = request.traceContext;
    if (!active) return done();
    end(request, reply.statusCode);
    context.with(active, done);
  });

  fastify.addHook('onRequestAbort', (request, done) => {
    end(request, undefined);
    done();
  });
}

/** Ends the request's span once (a request that is aborted and then answered reaches both hooks). */
function end(request: FastifyRequest, status: number | undefined): void {
  const span: Span | undefined = request.traceContext ? trace.getSpan(request.traceContext) : undefined;
  if (!span?.isRecording()) return;
  if (status === undefined) {
    span.setAttribute(ATTR_ERROR_TYPE, 'aborted');
  } else {
    span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, status);
    if (status >= 500) {
      span.setAttribute(ATTR_ERROR_TYPE, String(status));
      span.setStatus({ code: SpanStatusCode.ERROR });
    }
  }
  span.end();
}
