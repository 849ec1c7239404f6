import { type CanActivate, type ExecutionContext, Injectable, Optional } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { RateLimitService } from 'src/rate-limit/rate-limit.service';
import { Tracing } from 'src/tracing/tracing.service';
import { insufficientScope } from './auth-errors';
import { CredentialVerifier } from './credential-verifier';
import { AUTH_METADATA, type AuthMetadata } from './authenticated.decorator';
import { assertServerAllowed, type Principal } from './principal';
import { ADMIN_SCOPE, missingScopes, type Scope } from './scopes';

/**
 * The global guard (APP_GUARD): every route needs a credential unless marked `@Public()`; a route without
 * `@Authenticated(...)` needs `mcp:admin` (deny by default). Order: authenticate (API key, HS256 JWT or OAuth2
 * token; a failure counts against the client address) -> rate limit (so refused requests count too) -> scopes
 * -> server allow-list. Sets `request.principal`.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly rateLimit: RateLimitService,
    private readonly credentials: CredentialVerifier,
    @Optional() private readonly tracing: Tracing = Tracing.disabled(),
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (context.getType() !== 'http') return true;
    const metadata = this.reflector.getAllAndOverride<AuthMetadata | undefined>(AUTH_METADATA, [
      context.getHandler(),
      context.getClass(),
    ]);
    if (metadata === 'public') return true;
    if (this.tracing.enabled) return this.tracing.inStage('auth', undefined, () => this.admit(context, metadata));
    return this.admit(context, metadata);
  }

  /** Credential, rate limit, scopes, server allow-list. */
  private async admit(
    context: ExecutionContext,
    metadata: Exclude<AuthMetadata, 'public'> | undefined,
  ): Promise<boolean> {
    const request = context.switchToHttp().getRequest<FastifyRequest & { user?: unknown }>();
    const reply = context.switchToHttp().getResponse<FastifyReply>();
    let principal: Principal;
    try {
      principal = await this.credentials.authenticate(request);
    } catch (error) {
      // Failed attempts count against the client address (default limits): a flood of made-up keys or tokens
      // gets 429 instead of a database lookup or a signature check each.
      await this.rateLimit.consumeAnonymous(request.ip, reply);
      throw error;
    }
    request.principal = principal;

    await this.rateLimit.consume(principal, reply);

    const required: Scope[] = metadata?.scopes ?? [ADMIN_SCOPE];
    const missing = missingScopes(principal.scopes, required);
    if (missing.length > 0) throw insufficientScope(missing);

    if (principal.servers) {
      for (const serverId of requestedServers(request, metadata?.serverParam)) {
        assertServerAllowed(principal.servers, serverId);
      }
    }
    return true;
  }
}

/**
 * Server ids a request names: the route's server path parameter when it has one; otherwise `server_id` in the query
 * or a JSON body. A route with the server in its path takes no other: on `POST /api/servers/{id}/tools/{tool}` the
 * body is the tool's arguments, and an argument that happens to be called `server_id` is not a server.
 */
export function requestedServers(
  request: Pick<FastifyRequest, 'params' | 'query' | 'body'>,
  serverParam?: string,
): string[] {
  if (serverParam) {
    const params = request.params as Record<string, unknown> | undefined;
    const id = params?.[serverParam];
    return typeof id === 'string' ? [id] : [];
  }
  const ids: string[] = [];
  const query = request.query as Record<string, unknown> | undefined;
  if (typeof query?.server_id === 'string') ids.push(query.server_id);
  const body = request.body as Record<string, unknown> | undefined;
  if (body && typeof body === 'object' && !Array.isArray(body) && typeof body.server_id === 'string') {
    ids.push(body.server_id);
  }
  return ids;
}
