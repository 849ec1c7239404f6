import { type CanActivate, type ExecutionContext, Inject, Injectable } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { AppException } from 'src/common/errors/app.exception';
import { ErrorCode } from 'src/common/errors/error-code';
import { APP_CONFIG } from 'src/config/config.module';
import type { AppConfig } from 'src/config/config.schema';
import { single } from '../transports/http-messages';

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);

/**
 * DNS rebinding: a page on another site that resolves its name to 127.0.0.1 must not reach a gateway bound to
 * loopback. Such a request carries the attacker's Host (and Origin): only loopback names (and configured extras)
 * are accepted on a loopback bind. Runs after the global AuthGuard (controller guards follow global ones), as the
 * check did when it sat at the top of each front-door handler.
 */
@Injectable()
export class DnsRebindingGuard implements CanActivate {
  private readonly endpoint: AppConfig['mcp']['endpoint'];
  private readonly loopbackBind: boolean;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    this.endpoint = config.mcp.endpoint;
    const address = config.server.address ?? '0.0.0.0';
    this.loopbackBind = address === 'localhost' || address === '::1' || address.startsWith('127.');
  }

  canActivate(context: ExecutionContext): boolean {
    this.check(context.switchToHttp().getRequest<FastifyRequest>());
    return true;
  }

  /** 403 `AUTHORIZATION_DENIED` with reason `DNS_REBINDING_PROTECTION` for a foreign Host or Origin. */
  check(request: Pick<FastifyRequest, 'headers'>): void {
    if (!this.endpoint.dnsRebindingProtection || !this.loopbackBind) return;
    const host = single(request.headers.host) ?? '';
    const hostname = host.replace(/:\d+$/, '');
    if (!LOOPBACK_HOSTS.has(hostname) && !this.endpoint.allowedHosts.includes(host)) {
      throw rebinding(`Host '${host}' is not allowed on a loopback bind`);
    }
    const origin = single(request.headers.origin);
    if (origin === undefined || this.endpoint.allowedOrigins.includes(origin)) return;
    let originHost: string;
    try {
      originHost = new URL(origin).hostname;
    } catch {
      originHost = '';
    }
    if (!LOOPBACK_HOSTS.has(originHost)) throw rebinding(`Origin '${origin}' is not allowed on a loopback bind`);
  }
}

function rebinding(message: string): AppException {
  return new AppException(ErrorCode.AUTHORIZATION_DENIED, message, { reason: 'DNS_REBINDING_PROTECTION' });
}
