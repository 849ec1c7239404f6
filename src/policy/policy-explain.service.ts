import { Injectable } from '@nestjs/common';
import { z } from 'zod';
import { ApiKeysService } from 'src/auth/api-keys/api-keys.service';
import { principalFromClaims } from 'src/auth/jwt-claims';
import { isServerAllowed, type Principal } from 'src/auth/principal';
import { AppException } from 'src/common/errors/app.exception';
import { McpEngine } from 'src/mcp/mcp-engine';
import type { ExplainDto } from './dto/policy.dto';
import { apiKeyPrincipalId } from './policy-evaluator';
import { problemsOf } from './policy-rules.service';
import { PolicyService } from './policy.service';

const explainRequestSchema = z.strictObject({
  tool: z.string().min(1).max(512),
  server: z.string().min(1).max(64).optional(),
  claims: z.record(z.string(), z.unknown()).default({}),
});

/**
 * `explain`: which rule decides a tool for a caller, by the same evaluation lists and calls use. The caller is an API
 * key (its scopes, tier and id as stored), the anonymous caller, or a token holder described by its claims (the
 * gateway keeps no token, so a subject alone says nothing of its scopes or groups).
 */
@Injectable()
export class PolicyExplainService {
  constructor(
    private readonly policy: PolicyService,
    private readonly engine: McpEngine,
    private readonly keys: ApiKeysService,
  ) {}

  /** `principal`: an API key id (bare or `key:<id>`), `anonymous`, or nothing (anonymous). */
  async forKey(tool: string, server: string | undefined, principal: string | undefined): Promise<ExplainDto> {
    const caller = principal === undefined || principal === 'anonymous' ? undefined : await this.apiKey(principal);
    return this.explain(tool, server, caller);
  }

  /** A token holder, from the claims its token would carry. */
  forClaims(body: unknown): ExplainDto {
    const parsed = explainRequestSchema.safeParse(body);
    if (!parsed.success) throw AppException.invalid('Invalid explain request', { fields: problemsOf(parsed.error) });
    const { tool, server, claims } = parsed.data;
    const principal = principalFromClaims('jwt', { sub: 'explained', ...claims }, 0);
    return this.explain(tool, server, principal);
  }

  private explain(toolName: string, serverId: string | undefined, principal: Principal | undefined): ExplainDto {
    const offering = this.engine
      .listTools(serverId)
      .filter((ref) => ref.tool.name === toolName)
      .sort((a, b) => a.serverId.localeCompare(b.serverId));
    if (offering.length === 0) {
      throw AppException.notFound(`Tool '${toolName}'${serverId ? ` of server '${serverId}'` : ''}`, {
        tool: toolName,
        ...(serverId ? { server_id: serverId } : {}),
      });
    }
    return {
      tool: toolName,
      principal: principal
        ? { id: principal.id, kind: principal.kind, tier: principal.tier, scopes: [...principal.scopes].sort() }
        : { id: 'anonymous', kind: 'anonymous', tier: null, scopes: [] },
      decisions: offering.map((ref) => {
        const decision = this.policy.decide(principal, ref.serverId, ref.tool);
        return {
          server_id: ref.serverId,
          effect: decision.effect,
          rule: decision.rule,
          matched: decision.matched,
          server_allowed: isServerAllowed(principal?.servers ?? undefined, ref.serverId),
        };
      }),
    };
  }

  private async apiKey(reference: string): Promise<Principal> {
    const id = apiKeyPrincipalId(reference).slice('key:'.length);
    const key = (await this.keys.list()).api_keys.find((k) => k.id === id);
    if (!key) throw AppException.notFound(`API key '${id}'`, { principal: reference });
    if (key.revoked_at)
      throw AppException.invalid(`API key '${id}' is revoked: it can call nothing`, { principal: reference });
    return {
      kind: 'api-key',
      id: `key:${key.id}`,
      subject: key.name,
      scopes: new Set(key.scopes),
      servers: key.server_ids ? new Set(key.server_ids) : null,
      tier: key.tier,
    };
  }
}
