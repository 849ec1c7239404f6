import type { CredentialVerifier } from 'src/auth/credential-verifier';
import type { Principal } from 'src/auth/principal';
import { AppException } from 'src/common/errors/app.exception';
import { ErrorCode } from 'src/common/errors/error-code';

/** Longer than any API key or bearer token the gateway takes: refused without a lookup. */
const MAX_CREDENTIAL_LENGTH = 8192;

/**
 * Proves that whoever submits a link's confirmation is the principal the link was made for (ADR 0011): `credential` is
 * what that principal calls the gateway with (an API key, or a bearer token), verified as the auth guard verifies it,
 * and its principal must be the link's. 403 otherwise (`credential-refused`, `other-principal`); nothing is recorded,
 * so the link stays usable by its principal until it expires. The credential is never kept, logged or echoed.
 */
export async function proveLinkHolder(
  credentials: CredentialVerifier,
  linkPrincipalId: string,
  credential: string | undefined,
): Promise<void> {
  let principal: Principal;
  try {
    if (!credential || credential.length > MAX_CREDENTIAL_LENGTH) throw new Error('none');
    principal = await credentials.verifyHeaders(credentialHeaders(credential.trim()));
  } catch (error) {
    // A store that is down is the gateway's failure, not the user's: only a refusal is answered 403.
    if (error instanceof AppException && error.status >= 500) throw error;
    throw denied(
      'The gateway does not accept this API key or token: enter the one you call the gateway with',
      'credential-refused',
    );
  }
  if (principal.id !== linkPrincipalId)
    throw denied(
      'This link was made for another gateway user: open the link your own call answered (nothing was authorised)',
      'other-principal',
    );
}

/** The headers a credential is sent in: a JWT (three base64url parts) as a bearer token, anything else as an API key. */
function credentialHeaders(credential: string): Record<string, string> {
  const bearer = /^bearer\s+/i.exec(credential);
  if (bearer) return { authorization: `Bearer ${credential.slice(bearer[0].length)}` };
  return /^[\w-]+\.[\w-]+\.[\w-]*$/.test(credential)
    ? { authorization: `Bearer ${credential}` }
    : { 'x-api-key': credential };
}

function denied(message: string, reason: string): AppException {
  return new AppException(ErrorCode.AUTHORIZATION_DENIED, message, { reason });
}
