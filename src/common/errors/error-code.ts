import { HttpStatus } from '@nestjs/common';

/** The error codes of the public contract (API.md, "Errors"). */
export enum ErrorCode {
  INVALID_PARAMETERS = 'INVALID_PARAMETERS',
  AUTHENTICATION_FAILED = 'AUTHENTICATION_FAILED',
  AUTHORIZATION_DENIED = 'AUTHORIZATION_DENIED',
  RESOURCE_NOT_FOUND = 'RESOURCE_NOT_FOUND',
  METHOD_NOT_ALLOWED = 'METHOD_NOT_ALLOWED',
  CONFLICT = 'CONFLICT',
  PAYLOAD_TOO_LARGE = 'PAYLOAD_TOO_LARGE',
  UNSUPPORTED_MEDIA_TYPE = 'UNSUPPORTED_MEDIA_TYPE',
  RATE_LIMIT_EXCEEDED = 'RATE_LIMIT_EXCEEDED',
  SERVER_ERROR = 'SERVER_ERROR',
  TOOL_EXECUTION_FAILED = 'TOOL_EXECUTION_FAILED',
  SERVER_UNAVAILABLE = 'SERVER_UNAVAILABLE',
  TIMEOUT_EXCEEDED = 'TIMEOUT_EXCEEDED',
  /** The upstream acts for each user (`oauth-user`) and this caller has not authorised it yet: open the URL given. */
  UPSTREAM_AUTHORIZATION_REQUIRED = 'UPSTREAM_AUTHORIZATION_REQUIRED',
}

/** Adding a code without a status does not compile. */
export const ERROR_STATUS = {
  [ErrorCode.INVALID_PARAMETERS]: HttpStatus.BAD_REQUEST,
  [ErrorCode.AUTHENTICATION_FAILED]: HttpStatus.UNAUTHORIZED,
  [ErrorCode.AUTHORIZATION_DENIED]: HttpStatus.FORBIDDEN,
  [ErrorCode.RESOURCE_NOT_FOUND]: HttpStatus.NOT_FOUND,
  [ErrorCode.METHOD_NOT_ALLOWED]: HttpStatus.METHOD_NOT_ALLOWED,
  [ErrorCode.CONFLICT]: HttpStatus.CONFLICT,
  [ErrorCode.PAYLOAD_TOO_LARGE]: HttpStatus.PAYLOAD_TOO_LARGE,
  [ErrorCode.UNSUPPORTED_MEDIA_TYPE]: HttpStatus.UNSUPPORTED_MEDIA_TYPE,
  [ErrorCode.RATE_LIMIT_EXCEEDED]: HttpStatus.TOO_MANY_REQUESTS,
  [ErrorCode.SERVER_ERROR]: HttpStatus.INTERNAL_SERVER_ERROR,
  [ErrorCode.TOOL_EXECUTION_FAILED]: HttpStatus.BAD_GATEWAY,
  [ErrorCode.SERVER_UNAVAILABLE]: HttpStatus.SERVICE_UNAVAILABLE,
  [ErrorCode.TIMEOUT_EXCEEDED]: HttpStatus.GATEWAY_TIMEOUT,
  [ErrorCode.UPSTREAM_AUTHORIZATION_REQUIRED]: HttpStatus.UNAUTHORIZED,
} as const satisfies Record<ErrorCode, HttpStatus>;

/** The code a bare HTTP status stands for, when a library throws one without our code. */
export function codeForStatus(status: number): ErrorCode {
  const match = (Object.entries(ERROR_STATUS) as [ErrorCode, number][]).find(([, s]) => s === status);
  if (match) return match[0];
  if (status === 408) return ErrorCode.TIMEOUT_EXCEEDED;
  if (status >= 500) return ErrorCode.SERVER_ERROR;
  return ErrorCode.INVALID_PARAMETERS;
}
