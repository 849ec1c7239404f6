import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import type { Counter } from 'prom-client';
import { inboundTokenOf } from 'src/auth/inbound-token';
import type { Principal } from 'src/auth/principal';
import type { CallerCredential, CredentialEvent, UpstreamCaller } from 'src/mcp/credentials/upstream-credentials';
import { USER_TOKEN_SOURCE, type UserTokenSource } from 'src/mcp/credentials/user-token-source';
import { McpEngine } from 'src/mcp/mcp-engine';
import { MCP_UPSTREAM_CREDENTIALS } from 'src/metrics/metric-names';
import { toolAttributes, Tracing } from 'src/tracing/tracing.service';
import type { ResolvedTool } from './tool-resolver';

/**
 * Stage 3, upstream credential: for a server that acts on behalf of each caller (`token-exchange`,
 * `claims-to-headers`; ADR 0007), the caller's credential for it, resolved before anything is on record: a caller
 * who cannot get one (an API key to a token-exchange server, a missing claim, an exchange the authorization server
 * refuses) is answered 403 with nothing stored, an unreachable token endpoint 503. `oauth-user` servers (ADR 0011):
 * the user's own token from the `UserTokenSource` (src/connections), or 401 UPSTREAM_AUTHORIZATION_REQUIRED with the
 * URL where the user authorises the gateway. Other servers: nothing to do (their server-wide credential rides on the
 * pooled connections).
 *
 * It also keeps the audit trail of every credential the engine uses or obtains: a metric
 * (`mcp_upstream_credentials_total{server,mode,action}`) and a log line, never the token.
 */
@Injectable()
export class UpstreamCredential {
  private readonly logger = new Logger('UpstreamCredentials');

  constructor(
    private readonly engine: McpEngine,
    @InjectMetric(MCP_UPSTREAM_CREDENTIALS) private readonly events: Counter<'server' | 'mode' | 'action'>,
    @Optional() private readonly tracing: Tracing = Tracing.disabled(),
    @Optional() @Inject(USER_TOKEN_SOURCE) private readonly userTokens?: UserTokenSource,
  ) {
    engine.on('credential', (event) => this.audit(event));
  }

  /** The caller's credential for the tool's server, or undefined when the server's credential is its own. */
  resolve(target: ResolvedTool, principal: Principal | undefined): Promise<CallerCredential | undefined> {
    return this.forServer(target.serverId, principal, target.tool.name);
  }

  /**
   * The caller's credential for any request to `serverId` (a tool call, a resource read, a prompt, a completion), or
   * undefined when the server's credential is its own. Fails as `resolve` does (UPSTREAM_AUTHORIZATION_REQUIRED, 503).
   */
  forServer(
    serverId: string,
    principal: Principal | undefined,
    target?: string,
  ): Promise<CallerCredential | undefined> {
    // Most servers' credential is their own: no caller to build, no span.
    if (!this.engine.actsForCallers(serverId)) return Promise.resolve(undefined);
    const caller = callerOf(principal);
    const users = this.userTokens?.actsFor(serverId) ? this.userTokens : undefined;
    const resolve = () => (users ? users.credentialFor(serverId, caller) : this.engine.credentialFor(serverId, caller));
    if (!this.tracing.enabled) return resolve();
    return this.tracing.inStage('upstream credential', toolAttributes(serverId, target ?? ''), resolve);
  }

  private audit(event: CredentialEvent): void {
    this.events.inc({ server: event.serverId, mode: event.mode, action: event.action });
    const who = event.principal ? ` for ${event.principal}` : '';
    const until = event.expiresAt ? ` (expires ${new Date(event.expiresAt).toISOString()})` : '';
    const line = `[${event.serverId}] ${event.mode} credential ${event.action}${who}${until}`;
    if (event.action === 'failed') this.logger.warn(`${line}: ${event.reason ?? 'refused'}`);
    else if (event.action === 'used' || event.action === 'cache') this.logger.debug(line);
    else this.logger.log(line);
  }
}

/** What an upstream credential needs of a principal; the token stays out of the principal itself. */
export function callerOf(principal: Principal | undefined): UpstreamCaller {
  if (!principal) return { id: 'anonymous' };
  const exp = principal.claims?.exp;
  return {
    id: principal.id,
    name: principal.subject,
    bearerToken: inboundTokenOf(principal),
    tokenExpiresAt: typeof exp === 'number' ? exp * 1000 : undefined,
    claims: principal.claims,
  };
}
