import { Inject, Injectable } from '@nestjs/common';
import { decodeProtectedHeader } from 'jose';
import { JwksClient } from 'jwks-rsa';
import { createPublicKey, type KeyObject } from 'node:crypto';
import { APP_CONFIG } from 'src/config/config.module';
import type { AppConfig } from 'src/config/config.schema';

const HTTP_TIMEOUT_MS = 5_000;
/** How long jwks-rsa keeps the key set; a signing key withdrawn by the issuer is still accepted up to this long. */
export const JWKS_CACHE_MAX_AGE_MS = 10 * 60_000;
const JWKS_CACHE_MAX_ENTRIES = 20;

/**
 * Public keys of the OAuth2 issuer, from `jwk-set-uri` or from the `jwks_uri` of the issuer's OpenID metadata
 * (`<issuer-uri>/.well-known/openid-configuration`, fetched once, retried after a failure). jwks-rsa caches the
 * keys (10 min), fetches the set again when a token names an unknown `kid` (key rotation), and rate-limits those
 * fetches (10 a minute) so random kids cannot hammer the issuer.
 */
@Injectable()
export class JwksKeyResolver {
  private client: Promise<JwksClient> | undefined;
  private readonly jwkSetUri: string | undefined;
  private readonly issuerUri: string | undefined;
  /** Public keys already imported, by their PEM (a rotated key with a reused `kid` has another PEM). */
  private readonly imported = new Map<string, KeyObject>();

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    const settings = config.spring.security.oauth2.resourceserver.jwt;
    this.jwkSetUri = settings.jwkSetUri;
    this.issuerUri = settings.issuerUri;
  }

  get enabled(): boolean {
    return Boolean(this.jwkSetUri ?? this.issuerUri);
  }

  /** The public key that should have signed this token, imported once per key. */
  async keyFor(token: string): Promise<KeyObject> {
    if (!this.enabled) {
      throw new Error('OAuth2 tokens are not accepted: no issuer-uri or jwk-set-uri is configured');
    }
    const { kid } = decodeProtectedHeader(token);
    const client = await this.jwksClient();
    const pem = (await client.getSigningKey(kid)).getPublicKey();
    let key = this.imported.get(pem);
    if (!key) {
      if (this.imported.size >= JWKS_CACHE_MAX_ENTRIES) this.imported.clear();
      key = createPublicKey(pem);
      this.imported.set(pem, key);
    }
    return key;
  }

  private jwksClient(): Promise<JwksClient> {
    this.client ??= this.createClient().catch((error: unknown) => {
      this.client = undefined;
      throw error;
    });
    return this.client;
  }

  private async createClient(): Promise<JwksClient> {
    const jwksUri = this.jwkSetUri ?? (await discoverJwksUri(this.issuerUri!));
    return new JwksClient({
      jwksUri,
      cache: true,
      cacheMaxEntries: JWKS_CACHE_MAX_ENTRIES,
      cacheMaxAge: JWKS_CACHE_MAX_AGE_MS,
      rateLimit: true,
      jwksRequestsPerMinute: 10,
      timeout: HTTP_TIMEOUT_MS,
    });
  }
}

async function discoverJwksUri(issuer: string): Promise<string> {
  const url = `${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
  const response = await fetch(url, {
    signal: AbortSignal.timeout(HTTP_TIMEOUT_MS),
    headers: { accept: 'application/json' },
  });
  if (!response.ok) throw new Error(`OpenID discovery at ${url} answered ${response.status}`);
  const metadata = (await response.json()) as { jwks_uri?: unknown };
  if (typeof metadata.jwks_uri !== 'string') throw new Error(`OpenID metadata at ${url} has no jwks_uri`);
  return metadata.jwks_uri;
}
