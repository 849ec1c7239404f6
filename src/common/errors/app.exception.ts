import { ErrorCode, ERROR_STATUS } from './error-code';

/**
 * The one error type of the application: services throw it, the global filter renders it as the envelope
 * `{"error":{"code","message","details","request_id","timestamp"}}` with the status its code maps to.
 */
export class AppException extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: unknown,
    /** Extra response headers (Retry-After, WWW-Authenticate, ...). */
    readonly headers?: Record<string, string>,
  ) {
    super(message);
    this.name = 'AppException';
  }

  get status(): number {
    return ERROR_STATUS[this.code];
  }

  static notFound(what: string, details?: unknown) {
    return new AppException(ErrorCode.RESOURCE_NOT_FOUND, `${what} not found`, details);
  }

  static invalid(message: string, details?: unknown) {
    return new AppException(ErrorCode.INVALID_PARAMETERS, message, details);
  }

  static conflict(message: string, details?: unknown) {
    return new AppException(ErrorCode.CONFLICT, message, details);
  }
}
