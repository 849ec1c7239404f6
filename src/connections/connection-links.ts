import { randomBytes } from 'node:crypto';
import { AppException } from 'src/common/errors/app.exception';
import type { SecretsCipher } from 'src/servers/registry/secrets-cipher';

/** How long the link a refused call hands out may be opened. */
export const LINK_TTL_MS = 10 * 60_000;
const AAD = 'globalmcp:connection-link';

/** What a connection link says: who it is for, which server, until when, and its single-use nonce. */
export interface ConnectionLink {
  readonly principalId: string;
  /** The principal's name as the gateway knows it (shown on the confirmation page), if any. */
  readonly principalName?: string;
  readonly serverId: string;
  /** Epoch ms. */
  readonly expiresAt: number;
  /** Unique per link: an authorization started from it records the nonce, so the link starts one only. */
  readonly nonce: string;
}

/**
 * The links a refused call hands out (ADR 0011): sealed by the key of secrets at rest (AES-256-GCM: nobody can make
 * or alter one, and the principal it is for is not readable in the URL), expiring, and single-use once opened (the
 * authorization it starts records its nonce). Making one writes nothing, so a client that calls again and again costs
 * no rows.
 */
export class ConnectionLinks {
  constructor(
    private readonly cipher: SecretsCipher,
    private readonly now: () => number = Date.now,
  ) {}

  /** A new link for the principal and server. */
  make(principalId: string, serverId: string, principalName?: string): { token: string; link: ConnectionLink } {
    const link: ConnectionLink = {
      principalId,
      ...(principalName ? { principalName } : {}),
      serverId,
      expiresAt: this.now() + LINK_TTL_MS,
      nonce: randomBytes(18).toString('base64url'),
    };
    const sealed = this.cipher.sealText(
      JSON.stringify([link.principalId, link.serverId, link.expiresAt, link.nonce, link.principalName ?? null]),
      AAD,
    );
    return { token: sealed.toString('base64url'), link };
  }

  /** The link of a token; 400 when it is not one the gateway made, or has expired. */
  open(token: string | undefined): ConnectionLink {
    let parts: unknown;
    try {
      if (!token || token.length > 4096) throw new Error('missing');
      parts = JSON.parse(this.cipher.openText(Buffer.from(token, 'base64url'), AAD));
    } catch {
      throw AppException.invalid('This connection link is not one the gateway made (or it was altered)', {
        reason: 'invalid-link',
      });
    }
    const [principalId, serverId, expiresAt, nonce, principalName] = parts as [
      string,
      string,
      number,
      string,
      string | null,
    ];
    if (typeof expiresAt !== 'number' || this.now() >= expiresAt)
      throw AppException.invalid('This connection link has expired: call the tool again for a new one', {
        reason: 'expired-link',
      });
    return { principalId, ...(principalName ? { principalName } : {}), serverId, expiresAt, nonce };
  }
}
