import { applyDecorators, SetMetadata } from '@nestjs/common';
import { ApiBearerAuth, ApiOAuth2, ApiSecurity } from '@nestjs/swagger';
import { ApiErrorResponses } from 'src/common/errors/api-error-responses.decorator';
import type { Scope } from './scopes';

export const AUTH_METADATA = 'globalmcp:auth';

/** Names of the OpenAPI security schemes (declared in src/bootstrap/openapi.ts). */
export const SECURITY_SCHEMES = { bearer: 'bearer', oauth2: 'oauth2', apiKey: 'api_key' } as const;

export interface AuthenticatedOptions {
  /** Scopes the caller needs (all of them); `mcp:admin` implies every scope. */
  scopes: Scope[];
  /**
   * Route parameter holding a server id (`id` in `/api/servers/:id/...`): a caller whose allow-list lacks that
   * server gets 403 before the handler runs. `server_id` in the query or body is always checked.
   */
  serverParam?: string;
}

export type AuthMetadata = AuthenticatedOptions | 'public';

/**
 * The one declaration of what a route needs: guard metadata (read by the global AuthGuard) and the route's
 * security in the OpenAPI document (bearer JWT, OAuth2 or API key, any of them), plus the 401/403/429 answers.
 * A route without it is treated as admin-only (deny by default).
 */
export function Authenticated(options: AuthenticatedOptions): MethodDecorator & ClassDecorator {
  return applyDecorators(
    SetMetadata(AUTH_METADATA, options satisfies AuthMetadata),
    ApiBearerAuth(SECURITY_SCHEMES.bearer),
    ApiOAuth2([...options.scopes], SECURITY_SCHEMES.oauth2),
    ApiSecurity(SECURITY_SCHEMES.apiKey),
    ApiErrorResponses(401, 403, 429),
  );
}

/** Open to anyone: no credential, no rate limit (health; the docs are served outside Nest's guards). */
export function Public(): MethodDecorator & ClassDecorator {
  return SetMetadata(AUTH_METADATA, 'public' satisfies AuthMetadata);
}
