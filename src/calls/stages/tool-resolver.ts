import { Injectable } from '@nestjs/common';
import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import type { Principal } from 'src/auth/principal';
import { AppException } from 'src/common/errors/app.exception';
import { McpEngine } from 'src/mcp/mcp-engine';
import { PolicyService } from 'src/policy/policy.service';
import { ServersService } from 'src/servers/servers.service';

/** The tool a call goes to. */
export interface ResolvedTool {
  serverId: string;
  tool: Tool;
}

/**
 * Stage 1, resolve: the server and tool a call names. 404 for an unknown server or tool, 409 for a name several
 * servers offer when no server is named. With no server named, the name is looked up among the tools the caller may
 * see, as every list shows them: a tool of a server outside the caller's allow-list, or one the tool rules deny this
 * caller, neither resolves nor makes a name ambiguous. Only when the caller may see none of the tools of that name is
 * the search made among all the allowed servers' tools, so that the policy stage answers 403 naming the rule rather
 * than a 404 for a tool that exists.
 */
@Injectable()
export class ToolResolver {
  constructor(
    private readonly engine: McpEngine,
    private readonly servers: ServersService,
    private readonly policy: PolicyService,
  ) {}

  resolve(toolName: string, serverId: string | undefined, principal: Principal | undefined): ResolvedTool {
    if (serverId !== undefined) {
      this.servers.find(serverId);
      return this.engine.findTool(toolName, serverId);
    }
    const allowed = principal?.servers ?? undefined;
    if (!allowed && this.policy.allowsEverything) return this.engine.findTool(toolName);
    const named = this.engine
      .listTools()
      .filter((ref) => ref.tool.name === toolName && (!allowed || allowed.has(ref.serverId)));
    const visible = named.filter((ref) => this.policy.permits(principal, ref.serverId, ref.tool));
    return onlyOne(toolName, visible.length > 0 ? visible : named);
  }
}

/** The one hit: 404 when there is none, 409 when several servers offer the name. */
function onlyOne(name: string, hits: ResolvedTool[]): ResolvedTool {
  if (hits.length === 0) throw AppException.notFound(`Tool '${name}'`, { tool: name });
  if (hits.length > 1) {
    const servers = hits.map((ref) => ref.serverId).sort();
    throw AppException.conflict(`Tool '${name}' exists on several servers; name one`, { tool: name, servers });
  }
  return hits[0]!;
}
