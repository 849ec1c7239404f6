import { type ExecutionContext, Injectable } from '@nestjs/common';
import { AuthGuard as PassportAuthGuard, type IAuthGuard } from '@nestjs/passport';
import { decodeProtectedHeader } from 'jose';
import type { IncomingHttpHeaders } from 'node:http';
import { AppException } from 'src/common/errors/app.exception';
import { authenticationFailed } from './auth-errors';
import { rememberInboundToken } from './inbound-token';
import type { VerifiedToken } from './jwt-claims';
import type { Principal } from './principal';
import { API_KEY_STRATEGY } from './strategies/api-key.strategy';
import { HS256_STRATEGY } from './strategies/hs256-jwt.strategy';
import { JWKS_CACHE_MAX_AGE_MS } from './strategies/jwks-key.resolver';
import { OAUTH2_STRATEGY } from './strategies/oauth2-jwt.strategy';
import { VerifiedTokenCache } from './verified-token-cache';

const CREDENTIALS_HINT = 'send Authorization: Bearer <token> or X-API-Key: <key>';
/** Verified bearer tokens remembered (by hash); a few MB at most. */
const TOKEN_CACHE_MAX_ENTRIES = 10_000;

/** What the verifier reads of a request: its headers; passport writes `user` (and `authInfo`) on it. */
export interface CredentialCarrier {
  headers: IncomingHttpHeaders;
  user?: unknown;
}

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
 * Verifies the credential of a request (API key, HS256 JWT or OAuth2 token) with the passport strategies of the
 * API listener. The global guard uses it, and so does the management listener (a separate Nest application, no
 * global guard) to decide who sees health details, info and metrics.
 *
 * A bearer token is verified once: its principal is then reused, by the token's SHA-256, until its `exp` and for
 * at most as long as the JWKS keeps a withdrawn key (docs/benchmarks.md, "Bearer tokens: what is cached").
 * API keys are not cached here: ApiKeysService keeps its own short cache so that a revocation takes effect.
 */
@Injectable()
export class CredentialVerifier {
  private readonly apiKey = passportGuard(API_KEY_STRATEGY, 'API key');
  private readonly hs256 = passportGuard(HS256_STRATEGY, 'bearer token');
  private readonly oauth2 = passportGuard(OAUTH2_STRATEGY, 'bearer token');
  private readonly tokens = new VerifiedTokenCache({
    maxEntries: TOKEN_CACHE_MAX_ENTRIES,
    maxAgeMs: JWKS_CACHE_MAX_AGE_MS,
  });

  /** Whether the request carries a credential at all (an X-API-Key header or a Bearer authorization). */
  static presentedIn(headers: IncomingHttpHeaders): boolean {
    return headers['x-api-key'] !== undefined || /^bearer\s/i.test(headers.authorization ?? '');
  }

  /**
   * The principal of the request's credential; 401 AUTHENTICATION_FAILED (AppException) when there is none or
   * it is refused. Picks the one strategy the credential is for, so its refusal is the one reported.
   */
  async authenticate(request: CredentialCarrier): Promise<Principal> {
    const apiKey = request.headers['x-api-key'];
    const authorization = request.headers.authorization;
    if (apiKey !== undefined) {
      if (typeof apiKey !== 'string' || apiKey === '') {
        throw authenticationFailed('Invalid API key', 'exactly one non-empty X-API-Key header is expected');
      }
      await this.apiKey.canActivate(contextOf(request));
      return request.user as Principal;
    }
    if (authorization && /^bearer\s/i.test(authorization)) {
      const token = authorization.slice(7).trim();
      return this.tokens.get(token) ?? this.verifyToken(request, token);
    }
    throw authenticationFailed(`Authentication required: ${CREDENTIALS_HINT}`);
  }

  /** The principal of raw request headers (the request object itself is not touched). */
  verifyHeaders(headers: IncomingHttpHeaders): Promise<Principal> {
    return this.authenticate({ headers });
  }

  /** Full verification by the token's strategy (signature, exp/nbf/iat, iss, aud); a token that passes is cached. */
  private async verifyToken(request: CredentialCarrier, token: string): Promise<Principal> {
    // One token per header, as RFC 6750 writes it: what is cached must be exactly what passport-jwt verified.
    if (/\s/.test(token)) throw authenticationFailed('Invalid bearer token', 'malformed token');
    const guard: IAuthGuard = this.isHmacToken(token) ? this.hs256 : this.oauth2;
    await guard.canActivate(contextOf(request));
    const verified = request.user as VerifiedToken;
    this.tokens.remember(token, verified);
    rememberInboundToken(verified.principal, token);
    return verified.principal;
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

/** The part of an ExecutionContext a passport guard reads: the request (and a response it never uses here). */
function contextOf(request: CredentialCarrier): ExecutionContext {
  const http = { getRequest: () => request, getResponse: () => ({}), getNext: () => undefined };
  return { switchToHttp: () => http, getType: () => 'http' } as unknown as ExecutionContext;
}
