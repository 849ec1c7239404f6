import { Injectable } from '@nestjs/common';
import { insufficientScope } from 'src/auth/auth-errors';
import { assertServerAllowed, type Principal } from 'src/auth/principal';
import { missingScopes } from 'src/auth/scopes';
import { PolicyService } from 'src/policy/policy.service';
import type { ResolvedTool } from './tool-resolver';

/**
 * Stage 2, policy: may this caller call this tool? The `mcp:write` scope and the caller's server allow-list (a key's
 * `server_ids`, a token's `mcp_servers`), then the tool-level rules (src/policy, the same evaluation every list
 * uses); 403 otherwise. Entry points check scopes and allow-lists at their edge too (route guards, the MCP front
 * door's guard); this stage is the one place every call passes. A call without a principal comes from a public route
 * (security off): scopes and allow-lists do not apply, tool rules without conditions on the caller still do.
 */
@Injectable()
export class CallPolicy {
  constructor(private readonly tools: PolicyService) {}

  check(principal: Principal | undefined, target: ResolvedTool): void {
    if (!principal) return this.tools.assertCallAllowed(undefined, target.serverId, target.tool);
    const missing = missingScopes(principal.scopes, ['mcp:write']);
    if (missing.length > 0) throw insufficientScope(missing);
    assertServerAllowed(principal.servers ?? undefined, target.serverId);
    this.tools.assertCallAllowed(principal, target.serverId, target.tool);
  }

  /** The allow-list part alone, for a batch that checks every named server before any step runs. */
  checkServer(principal: Principal | undefined, serverId: string): void {
    assertServerAllowed(principal?.servers ?? undefined, serverId);
  }
}
