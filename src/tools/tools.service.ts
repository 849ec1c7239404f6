import { Injectable } from '@nestjs/common';
import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import type { Principal } from 'src/auth/principal';
import { ToolResolver } from 'src/calls/stages/tool-resolver';
import { McpEngine, type ToolRef } from 'src/mcp/mcp-engine';
import { PolicyService } from 'src/policy/policy.service';
import { ServersService } from 'src/servers/servers.service';
import type { ListToolsQueryDto, ToolDto, ToolListDto } from './dto/tool.dto';

/** The tool catalog across servers, as REST lists it (calls go through the call pipeline, src/calls). */
@Injectable()
export class ToolsService {
  constructor(
    private readonly engine: McpEngine,
    private readonly servers: ServersService,
    private readonly resolver: ToolResolver,
    private readonly policy: PolicyService,
  ) {}

  /** The tools the caller may call: its allow-list and the tool-level policy (the call pipeline checks the same). */
  list(query: ListToolsQueryDto, principal?: Principal): ToolListDto {
    if (query.server_id) this.servers.find(query.server_id);
    const needle = query.search?.toLowerCase();
    const allowed = principal?.servers ?? undefined;
    const tools = this.engine
      .listTools(query.server_id)
      .filter((ref) => !allowed || allowed.has(ref.serverId))
      .filter((ref) => this.policy.permits(principal, ref.serverId, ref.tool))
      .map((ref) => this.toDto(ref))
      .filter((t) => !query.category || t.category === query.category)
      .filter(
        (t) => !needle || t.name.toLowerCase().includes(needle) || (t.description ?? '').toLowerCase().includes(needle),
      )
      .sort((a, b) => a.server_id.localeCompare(b.server_id) || a.name.localeCompare(b.name));
    return {
      tools,
      total_count: tools.length,
      servers_count: new Set(tools.map((t) => t.server_id)).size,
      categories: [...new Set(tools.map((t) => t.category))].sort(),
    };
  }

  /** One tool; 409 when the name exists on several servers and no server is named; 403 when policy denies it. */
  get(name: string, serverId?: string, principal?: Principal): ToolDto {
    const ref = this.resolver.resolve(name, serverId, principal);
    this.policy.assertVisible(principal, ref.serverId, ref.tool);
    return this.toDto(ref);
  }

  private toDto({ serverId, tool }: ToolRef): ToolDto {
    const server = this.servers.find(serverId);
    return {
      name: tool.name,
      ...(tool.title ? { title: tool.title } : {}),
      description: tool.description ?? null,
      server_id: serverId,
      server_name: server.entry.name ?? serverId,
      category: categoryOf(tool),
      input_schema: tool.inputSchema,
      ...(tool.outputSchema ? { output_schema: tool.outputSchema } : {}),
      ...(tool.annotations ? { annotations: tool.annotations } : {}),
    };
  }
}

function categoryOf(tool: Tool): string {
  const category = tool._meta?.category;
  return typeof category === 'string' && category.length > 0 ? category : 'general';
}
