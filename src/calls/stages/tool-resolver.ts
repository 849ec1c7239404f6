import { Injectable } from '@nestjs/common';
import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import { AppException } from 'src/common/errors/app.exception';
import { McpEngine } from 'src/mcp/mcp-engine';
import { ServersService } from 'src/servers/servers.service';

/** The tool a call goes to. */
export interface ResolvedTool {
  serverId: string;
  tool: Tool;
}

/**
 * Stage 1, resolve: the server and tool a call names. 404 for an unknown server or tool, 409 for a name several
 * servers offer when no server is named. A caller limited to some servers resolves among those only, so tools of other
 * servers neither resolve nor make a name ambiguous.
 */
@Injectable()
export class ToolResolver {
  constructor(
    private readonly engine: McpEngine,
    private readonly servers: ServersService,
  ) {}

  /** `allowed`: the caller's server allow-list (undefined: every server). */
  resolve(toolName: string, serverId: string | undefined, allowed: ReadonlySet<string> | undefined): ResolvedTool {
    if (serverId !== undefined) {
      this.servers.find(serverId);
      return this.engine.findTool(toolName, serverId);
    }
    return this.engine.findTool(toolName, allowed ? this.allowedServerOf(toolName, allowed) : undefined);
  }

  /** The one allowed server offering the tool: 404 when none does, 409 when several do. */
  private allowedServerOf(name: string, allowed: ReadonlySet<string>): string {
    const hits = this.engine
      .listTools()
      .filter((ref) => ref.tool.name === name && allowed.has(ref.serverId))
      .map((ref) => ref.serverId)
      .sort();
    if (hits.length === 0) throw AppException.notFound(`Tool '${name}'`, { tool: name });
    if (hits.length > 1) {
      throw AppException.conflict(`Tool '${name}' exists on several servers; name one`, { tool: name, servers: hits });
    }
    return hits[0]!;
  }
}
