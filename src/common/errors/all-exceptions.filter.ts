import { type ArgumentsHost, Catch, type ExceptionFilter, Logger } from '@nestjs/common';
import { isSpanContextValid, trace } from '@opentelemetry/api';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AppException } from './app.exception';
import type { ErrorCode } from './error-code';
import { toAppException, type ErrorTranslator } from './to-app-exception';

export interface ErrorEnvelope {
  error: { code: ErrorCode; message: string; details: unknown; request_id: string; timestamp: string };
}

export function renderEnvelope(exception: AppException, requestId: string): ErrorEnvelope {
  return {
    error: {
      code: exception.code,
      message: exception.message,
      details: withTraceId(exception.details ?? null),
      request_id: requestId,
      timestamp: new Date().toISOString(),
    },
  };
}

/**
 * `details.trace_id`: the trace of the failed request while tracing is on, so a caller's report leads to its trace.
 * Added to object details (and to none); details of another shape are left as they are.
 */
function withTraceId(details: unknown): unknown {
  const span = trace.getActiveSpan();
  if (!span || (details !== null && (typeof details !== 'object' || Array.isArray(details)))) return details;
  const spanContext = span.spanContext();
  if (!isSpanContextValid(spanContext)) return details;
  return { ...(details as Record<string, unknown> | null), trace_id: spanContext.traceId };
}

@Catch()
export class AllExceptionsFilter implements ExceptionFilter {
  private readonly logger = new Logger('ErrorFilter');

  constructor(private readonly translators: readonly ErrorTranslator[] = []) {}

  catch(error: unknown, host: ArgumentsHost): void {
    if (host.getType() !== 'http') throw error;
    const http = host.switchToHttp();
    const request = http.getRequest<FastifyRequest>();
    const reply = http.getResponse<FastifyReply>();
    const { exception, unexpected } = toAppException(error, this.translators);
    const requestId = String(request.id);

    if (unexpected) {
      // The stack goes to the log, keyed by the request id the client got; never to the client.
      this.logger.error({ err: error, method: request.method, url: request.url }, 'Unhandled error');
    }
    if (reply.sent || reply.raw.headersSent) {
      // A streamed response failed midway: the status is gone, close the stream instead.
      reply.raw.destroy();
      return;
    }
    if (exception.headers) void reply.headers(exception.headers);
    void reply
      .status(exception.status)
      .type('application/json; charset=utf-8')
      .send(renderEnvelope(exception, requestId));
  }
}
