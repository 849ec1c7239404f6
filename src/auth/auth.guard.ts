import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AuthGuard as PassportAuthGuard, type IAuthGuard } from '@nestjs/passport';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { decodeProtectedHeader } from 'jose';
import { AppException } from 'src/common/errors/app.exception';
import { RateLimitService } from 'src/rate-limit/rate-limit.service';
import { authenticationFailed, insufficientScope } from './auth-errors';
import { AUTH_METADATA, type AuthMetadata } from './authenticated.decorator';
import { assertServerAllowed, type Principal } from './principal';
import { ADMIN_SCOPE, missingScopes, type Scope } from './scopes';
import { API_KEY_STRATEGY } from './strategies/api-key.strategy';
import { HS256_STRATEGY } from './strategies/hs256-jwt.strategy';
import { OAUTH2_STRATEGY } from './strategies/oauth2-jwt.strategy';

const CREDENTIALS_HINT = 'send Authorization: Bearer <token> or X-API-Key: <key>';

/** A passport guard for one strategy whose failures become 401 AUTHENTICATION_FAILED with a useful reason. */
function passportGuard(strategy: string, what: string): IAuthGuard {
  const Base = PassportAuthGuard(strategy);
  class StrategyGuard extends Base {
    override handleRequest<T>(err: unknown, user: T, info: unknown): T {
      if (err instanceof AppException) throw err;
      if (err || !user) throw authenticationFailed(`Invalid ${what}`, reasonOf(err ?? info));
      return user;
    }
  }
  return new StrategyGuard();
}

function reasonOf(failure: unknown): string {
  const message = failure instanceof Error ? failure.message : typeof failure === 'string' ? failure : 'refused';
  // jsonwebtoken appends the expected issuer/audience: the caller does not need the configuration.
  return message.replace(/\. expected: .*$/s, '');
}

/**
 * The global guard (APP_GUARD): every route needs a credential unless marked `@Public()`; a route without
 * `@Authenticated(...)` needs `mcp:admin` (deny by default). Order: authenticate (API key, HS256 JWT or OAuth2
 * token; a failure counts against the client address) -> rate limit (so refused requests count too) -> scopes
 * -> server allow-list. Sets `request.principal`.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  private readonly apiKey = passportGuard(API_KEY_STRATEGY, 'API key');
  private readonly hs256 = passportGuard(HS256_STRATEGY, 'bearer token');
  private readonly oauth2 = passportGuard(OAUTH2_STRATEGY, 'bearer token');

  constructor(
    private readonly reflector: Reflector,
    private readonly rateLimit: RateLimitService,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (context.getType() !== 'http') return true;
    const metadata = this.reflector.getAllAndOverride<AuthMetadata | undefined>(AUTH_METADATA, [
      context.getHandler(),
      context.getClass(),
    ]);
    if (metadata === 'public') return true;

    const request = context.switchToHttp().getRequest<FastifyRequest & { user?: unknown }>();
    const reply = context.switchToHttp().getResponse<FastifyReply>();
    let principal: Principal;
    try {
      principal = await this.authenticate(context, request);
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

  /** Picks the one strategy the request's credential is for, so its refusal is the one reported. */
  private async authenticate(
    context: ExecutionContext,
    request: FastifyRequest & { user?: unknown },
  ): Promise<Principal> {
    const apiKey = request.headers['x-api-key'];
    const authorization = request.headers.authorization;
    let guard: IAuthGuard;
    if (apiKey !== undefined) {
      if (typeof apiKey !== 'string' || apiKey === '') {
        throw authenticationFailed('Invalid API key', 'exactly one non-empty X-API-Key header is expected');
      }
      guard = this.apiKey;
    } else if (authorization && /^bearer\s/i.test(authorization)) {
      guard = this.isHmacToken(authorization.slice(7).trim()) ? this.hs256 : this.oauth2;
    } else {
      throw authenticationFailed(`Authentication required: ${CREDENTIALS_HINT}`);
    }
    await guard.canActivate(context);
    return request.user as Principal;
  }

  private isHmacToken(token: string): boolean {
    let alg: unknown;
    try {
      alg = decodeProtectedHeader(token).alg;
    } catch {
      throw authenticationFailed('Invalid bearer token', 'malformed token');
    }
    // Only the routing: each strategy still accepts nothing but its own algorithms and keys.
    return typeof alg === 'string' && alg.toUpperCase().startsWith('HS');
  }
}

/** Server ids a request names: the route's server parameter, and `server_id` in the query or a JSON body. */
function requestedServers(request: FastifyRequest, serverParam?: string): string[] {
  const ids: string[] = [];
  const params = request.params as Record<string, unknown> | undefined;
  if (serverParam && typeof params?.[serverParam] === 'string') ids.push(params[serverParam]);
  const query = request.query as Record<string, unknown> | undefined;
  if (typeof query?.server_id === 'string') ids.push(query.server_id);
  const body = request.body as Record<string, unknown> | undefined;
  if (body && typeof body === 'object' && !Array.isArray(body) && typeof body.server_id === 'string') {
    ids.push(body.server_id);
  }
  return ids;
}
