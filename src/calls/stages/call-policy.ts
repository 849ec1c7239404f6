import { Injectable } from '@nestjs/common';
import { insufficientScope } from 'src/auth/auth-errors';
import { assertServerAllowed, type Principal } from 'src/auth/principal';
import { missingScopes } from 'src/auth/scopes';
import type { ResolvedTool } from './tool-resolver';

/**
 * Stage 2, policy: may this caller call this tool? Today: the `mcp:write` scope and the caller's server allow-list
 * (a key's `server_ids`, a token's `mcp_servers`); 403 otherwise. Entry points check the same at their edge (route
 * guards, the MCP front door's guard); this stage is the one place every call passes, where tool-level rules plug in.
 * A call without a principal comes from a public route (security off): nothing applies.
 */
@Injectable()
export class CallPolicy {
  check(principal: Principal | undefined, target: ResolvedTool): void {
    if (!principal) return;
    const missing = missingScopes(principal.scopes, ['mcp:write']);
    if (missing.length > 0) throw insufficientScope(missing);
    assertServerAllowed(principal.servers ?? undefined, target.serverId);
  }

  /** The allow-list part alone, for a batch that checks every named server before any step runs. */
  checkServer(principal: Principal | undefined, serverId: string): void {
    assertServerAllowed(principal?.servers ?? undefined, serverId);
  }
}
