import { createHash } from 'node:crypto';
import type { ServerEntry } from 'src/config/config.schema';
import type { UserTokens } from 'src/mcp/credentials/oauth-user-client';
import type { SecretsCipher } from 'src/servers/registry/secrets-cipher';
import type { UpstreamConnectionEntity } from './entities/upstream-connection.entity';

export const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');

/** Sealed tokens of one connection. */
export interface StoredTokens {
  access_token: string;
  refresh_token?: string;
}

export function storedTokens(tokens: UserTokens): StoredTokens {
  return { access_token: tokens.accessToken, ...(tokens.refreshToken ? { refresh_token: tokens.refreshToken } : {}) };
}

/**
 * The additional data tokens are sealed with: the server, the principal, and a fingerprint of the server's settings
 * that decide where a token may go (URL, authorization server, resource, client). A row copied onto another principal,
 * or kept while the server was replaced by one elsewhere under the same id, does not open.
 */
export function tokensAad(serverId: string, principalId: string, entry: ServerEntry): string {
  const auth = entry.auth;
  const where = JSON.stringify([entry.url, auth?.authorizationServer, auth?.resource, auth?.clientId]);
  return `${serverId}\0${principalId}\0${sha256(where).slice(0, 32)}`;
}

/** A user's tokens sealed with the gateway's cipher for one (server, principal) and the server's settings. */
export class SealedTokens {
  constructor(private readonly cipher: SecretsCipher) {}

  seal(serverId: string, principalId: string, entry: ServerEntry, tokens: UserTokens): Buffer {
    return this.cipher.sealText(JSON.stringify(storedTokens(tokens)), tokensAad(serverId, principalId, entry));
  }

  /** The tokens of a row; undefined when they were sealed for other settings of the server (they do not open). */
  open(row: UpstreamConnectionEntity, entry: ServerEntry): StoredTokens | undefined {
    try {
      return JSON.parse(
        this.cipher.openText(row.tokens, tokensAad(row.serverId, row.principalId, entry)),
      ) as StoredTokens;
    } catch {
      return undefined;
    }
  }
}
