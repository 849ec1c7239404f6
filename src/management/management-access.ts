import { type CanActivate, type ExecutionContext, Inject, Injectable } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { insufficientScope } from 'src/auth/auth-errors';
import { CredentialVerifier } from 'src/auth/credential-verifier';
import type { Principal } from 'src/auth/principal';
import { ADMIN_SCOPE, missingScopes } from 'src/auth/scopes';
import type { HealthViewer } from 'src/health/health.types';

/**
 * Who calls the management listener. It has no global guard (probes and scrapers send no credential), so the
 * endpoints that reveal more ask here: a credential is verified exactly as on the API (X-API-Key, HS256 or OAuth2
 * bearer, through the API application's own strategies), and "authorized" means it holds `mcp:admin`.
 */
@Injectable()
export class ManagementAccess {
  constructor(@Inject(CredentialVerifier) private readonly credentials: CredentialVerifier) {}

  /**
   * The health viewer of a request: authorized only with a valid admin credential. A missing, refused or
   * non-admin credential is just an anonymous viewer (no 401 on health: load balancers may send anything).
   */
  async healthViewer(request: FastifyRequest): Promise<HealthViewer> {
    if (!CredentialVerifier.presentedIn(request.headers)) return { authorized: false };
    try {
      const principal = await this.credentials.verifyHeaders(request.headers);
      return { authorized: isAdmin(principal) };
    } catch {
      return { authorized: false };
    }
  }

  /** Whether the request carries a valid admin credential (no credential or a refused one: false). */
  async isAdmin(request: FastifyRequest): Promise<boolean> {
    return (await this.healthViewer(request)).authorized;
  }

  /** The admin principal of the request; 401 without a valid credential, 403 without `mcp:admin`. */
  async requireAdmin(request: FastifyRequest): Promise<Principal> {
    const principal = await this.credentials.verifyHeaders(request.headers);
    if (!isAdmin(principal)) throw insufficientScope([ADMIN_SCOPE]);
    return principal;
  }
}

const isAdmin = (principal: Principal): boolean => missingScopes(principal.scopes, [ADMIN_SCOPE]).length === 0;

/** For management endpoints that reveal configuration-like data (`/actuator/metrics`): `mcp:admin` only. */
@Injectable()
export class ManagementAdminGuard implements CanActivate {
  constructor(@Inject(ManagementAccess) private readonly access: ManagementAccess) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    request.principal = await this.access.requireAdmin(request);
    return true;
  }
}
