import type { AppConfig } from 'src/config/config.schema';

const METADATA_TIMEOUT_MS = 3_000;
const RETRY_AFTER_FAILURE_MS = 60_000;

/** What the console page needs to sign in at the OAuth2 issuer (all public: a public client has no secret). */
export interface ConsoleOAuth2Settings {
  issuer: string;
  client_id: string;
  scopes: string[];
  resource: string | null;
}

/** The console's OAuth2 sign-in settings, or null when no issuer or no console client is configured. */
export function consoleOAuth2Settings(config: AppConfig): ConsoleOAuth2Settings | null {
  const issuer = config.spring.security.oauth2.resourceserver.jwt.issuerUri;
  const { clientId, scopes, resource } = config.mcp.console.oauth2;
  if (!issuer || !clientId) return null;
  return { issuer, client_id: clientId, scopes: [...scopes], resource: resource ?? null };
}

/**
 * The origins the console page may fetch from besides its own (its CSP's `connect-src`): the issuer's (discovery) and
 * that of the issuer's token endpoint, which may live elsewhere (Google's does). The token endpoint is read once from
 * the issuer's metadata; until that succeeds (retried at most once a minute) only the issuer's origin is allowed.
 */
export class ConsoleConnectOrigins {
  private readonly issuerOrigin: string;
  private tokenOrigin: string | undefined;
  private nextAttempt = 0;
  private pending: Promise<void> | undefined;

  constructor(private readonly issuer: string) {
    this.issuerOrigin = new URL(issuer).origin;
  }

  async origins(): Promise<string[]> {
    if (this.tokenOrigin === undefined && Date.now() >= this.nextAttempt) {
      this.pending ??= this.discover().finally(() => (this.pending = undefined));
      await this.pending;
    }
    return [...new Set([this.issuerOrigin, ...(this.tokenOrigin ? [this.tokenOrigin] : [])])];
  }

  private async discover(): Promise<void> {
    try {
      const url = `${this.issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
      const response = await fetch(url, {
        signal: AbortSignal.timeout(METADATA_TIMEOUT_MS),
        headers: { accept: 'application/json' },
      });
      const metadata = response.ok ? ((await response.json()) as { token_endpoint?: unknown }) : {};
      if (typeof metadata.token_endpoint !== 'string') throw new Error('no token_endpoint');
      this.tokenOrigin = new URL(metadata.token_endpoint).origin;
    } catch {
      // The page still loads; the browser's own discovery then says what failed.
      this.nextAttempt = Date.now() + RETRY_AFTER_FAILURE_MS;
    }
  }
}

/** The response's CSP with `connect-src` widened to `origins` (helmet's policy has none: default-src applies). */
export function withConnectSources(csp: string, origins: readonly string[]): string {
  if (origins.length === 0) return csp;
  const directives = csp
    .split(';')
    .map((d) => d.trim())
    .filter(Boolean);
  const existing = directives.findIndex((d) => d.startsWith('connect-src '));
  if (existing >= 0) directives[existing] = `${directives[existing]} ${origins.join(' ')}`;
  else directives.push(`connect-src 'self' ${origins.join(' ')}`);
  return directives.join(';');
}
