import { HttpException } from '@nestjs/common';
import { AppException } from './app.exception';
import { codeForStatus, ErrorCode } from './error-code';

/** Errors raised by Fastify itself (body parsing, limits) carry a status and a FST_* code. */
interface PlatformError {
  statusCode: number;
  code?: string;
  message: string;
}
const isPlatformError = (error: unknown): error is PlatformError =>
  error instanceof Error && typeof (error as Partial<PlatformError>).statusCode === 'number';

/**
 * The public form of an error of a lower layer that cannot import this module: the MCP engine's
 * (`translateEngineError` in src/mcp/engine-error.ts). `code` is checked against `ErrorCode` where the translator is
 * passed in, so a layer naming a code the API does not have does not compile.
 */
export interface TranslatedError {
  code: `${ErrorCode}`;
  message: string;
  details?: unknown;
}

/** Maps an error family of a lower layer to its public form, or returns undefined for errors not of that family. */
export type ErrorTranslator = (error: unknown) => TranslatedError | undefined;

/** Turns anything thrown into the public envelope; never leaks a stack trace. */
export function toAppException(
  error: unknown,
  translators: readonly ErrorTranslator[] = [],
): { exception: AppException; unexpected: boolean } {
  if (error instanceof AppException) return { exception: error, unexpected: false };
  for (const translate of translators) {
    const translated = translate(error);
    if (translated) {
      const { code, message, details } = translated;
      return { exception: new AppException(ErrorCode[code], message, details), unexpected: false };
    }
  }
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
