import type { FastifyRequest } from 'fastify';
import { AppException } from 'src/common/errors/app.exception';
import { ErrorCode } from 'src/common/errors/error-code';

/** How a caller proved who it is. */
export type PrincipalKind = 'api-key' | 'jwt' | 'oauth2';

/** The authenticated caller of one request, set by the global guard as `request.principal`. */
export interface Principal {
  kind: PrincipalKind;
  /** Stable identity (API key id, or issuer + subject): the rate-limit bucket key. */
  id: string;
  /** Human-readable name for logs and audit (key name, token subject). */
  subject: string;
  scopes: ReadonlySet<string>;
  /** Servers this caller may see and use; null: every server. */
  servers: ReadonlySet<string> | null;
  /** API-key tier (rate limits); null: the default limits. */
  tier: string | null;
  /** The verified token's claims (tool-level policy tests them, e.g. `groups`); absent for an API key. */
  claims?: Readonly<Record<string, unknown>>;
}

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
  }
}

/** The principal of a request (undefined on public routes). */
export function principalOf(request: FastifyRequest): Principal | undefined {
  return request.principal;
}

/**
 * The servers the caller may use, for services that filter lists: undefined means "no restriction" (every
 * server, or a public route), so a service given nothing behaves as before.
 */
export function allowedServersOf(request: FastifyRequest): ReadonlySet<string> | undefined {
  return request.principal?.servers ?? undefined;
}

export function isServerAllowed(allowed: ReadonlySet<string> | undefined, serverId: string): boolean {
  return !allowed || allowed.has(serverId);
}

/** 403 when the caller's allow-list does not contain the server. */
export function assertServerAllowed(allowed: ReadonlySet<string> | undefined, serverId: string): void {
  if (!isServerAllowed(allowed, serverId)) {
    throw new AppException(ErrorCode.AUTHORIZATION_DENIED, `Not allowed to use server ${serverId}`, {
      server_id: serverId,
    });
  }
}
