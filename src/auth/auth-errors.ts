import { AppException } from 'src/common/errors/app.exception';
import { ErrorCode } from 'src/common/errors/error-code';

const REALM = 'globalmcp';

const quoted = (value: string) => value.replace(/["\\]/g, "'");

/** 401 with the RFC 6750 challenge; `invalid_token` when a credential was sent but refused. */
export function authenticationFailed(message: string, reason?: string): AppException {
  const challenge = reason
    ? `Bearer realm="${REALM}", error="invalid_token", error_description="${quoted(reason)}"`
    : `Bearer realm="${REALM}"`;
  return new AppException(ErrorCode.AUTHENTICATION_FAILED, message, reason ? { reason } : null, {
    'WWW-Authenticate': challenge,
  });
}

/** 403 for a valid credential without the scope the route needs. */
export function insufficientScope(missing: readonly string[]): AppException {
  return new AppException(
    ErrorCode.AUTHORIZATION_DENIED,
    `Missing scope: ${missing.join(' ')}`,
    { required_scopes: [...missing] },
    { 'WWW-Authenticate': `Bearer realm="${REALM}", error="insufficient_scope", scope="${missing.join(' ')}"` },
  );
}
