import { type ArgumentsHost, Catch, type ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppException } from './app.exception';
import { codeForStatus, ErrorCode } from './error-code';

/** Errors that know their public form (e.g. the MCP engine's) implement this instead of being mapped here. */
export interface ConvertibleToAppException {
  toAppException(): AppException;
}

const isConvertible = (error: unknown): error is ConvertibleToAppException =>
  typeof error === 'object' &&
  error !== null &&
  typeof (error as Partial<ConvertibleToAppException>).toAppException === 'function';

/** Errors raised by Fastify itself (body parsing, limits) carry a status and a FST_* code. */
interface PlatformError {
  statusCode: number;
  code?: string;
  message: string;
}
const isPlatformError = (error: unknown): error is PlatformError =>
  error instanceof Error && typeof (error as Partial<PlatformError>).statusCode === 'number';

export interface ErrorEnvelope {
  error: { code: ErrorCode; message: string; details: unknown; request_id: string; timestamp: string };
}

/** Maps an error family of a lower layer (e.g. the MCP engine's) to AppException, or returns undefined. */
export type ErrorTranslator = (error: unknown) => AppException | undefined;

/** Turns anything thrown into the public envelope; never leaks a stack trace. */
export function toAppException(
  error: unknown,
  translators: readonly ErrorTranslator[] = [],
): { exception: AppException; unexpected: boolean } {
  if (error instanceof AppException) return { exception: error, unexpected: false };
  for (const translate of translators) {
    const translated = translate(error);
    if (translated) return { exception: translated, unexpected: false };
  }
  if (isConvertible(error)) return { exception: error.toAppException(), unexpected: false };
  if (error instanceof HttpException) {
    const status = error.getStatus();
    const body = error.getResponse();
    const message = typeof body === 'string' ? body : ((body as { message?: unknown }).message ?? error.message);
    const code = codeForStatus(status);
    if (Array.isArray(message)) {
      return { exception: new AppException(code, 'Request validation failed', message), unexpected: false };
    }
    const text = typeof message === 'string' ? message : JSON.stringify(message);
    return { exception: new AppException(code, humanMessage(code, text)), unexpected: status >= 500 };
  }
  if (isPlatformError(error) && error.statusCode >= 400 && error.statusCode < 500) {
    const code = codeForStatus(error.statusCode);
    return {
      exception: new AppException(code, humanMessage(code, error.message), error.code ? { reason: error.code } : null),
      unexpected: false,
    };
  }
  return { exception: new AppException(ErrorCode.SERVER_ERROR, 'Internal server error'), unexpected: true };
}

function humanMessage(code: ErrorCode, message: string): string {
  if (code === ErrorCode.PAYLOAD_TOO_LARGE)
    return 'Request body is larger than the configured limit (server.max-request-size)';
  if (code === ErrorCode.RESOURCE_NOT_FOUND && message.startsWith('Cannot '))
    return `No route for ${message.slice('Cannot '.length)}`;
  return message;
}

export function renderEnvelope(exception: AppException, requestId: string): ErrorEnvelope {
  return {
    error: {
      code: exception.code,
      message: exception.message,
      details: exception.details ?? null,
      request_id: requestId,
      timestamp: new Date().toISOString(),
    },
  };
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
