import { Injectable } from '@nestjs/common';
import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import { randomUUID } from 'node:crypto';
import { AppException } from 'src/common/errors/app.exception';
import { McpEngine, type ToolRef } from 'src/mcp/mcp-engine';
import { ServersService } from 'src/servers/servers.service';
import type { ExecutionResultDto, ListToolsQueryDto, ToolDto, ToolListDto } from './dto/tool.dto';

export interface ExecuteRequest {
  name: string;
  serverId?: string;
  parameters: Record<string, unknown>;
  timeoutMs?: number;
  /** Aborted when the HTTP client goes away: the upstream call is cancelled too. */
  signal?: AbortSignal;
  /** The caller's server allow-list (undefined: every server); used to resolve a tool when no server is named. */
  allowedServers?: ReadonlySet<string>;
}

/** The tool catalog across servers, and tool execution. */
@Injectable()
export class ToolsService {
  constructor(
    private readonly engine: McpEngine,
    private readonly servers: ServersService,
  ) {}

  list(query: ListToolsQueryDto, allowed?: ReadonlySet<string>): ToolListDto {
    if (query.server_id) this.servers.find(query.server_id);
    const needle = query.search?.toLowerCase();
    const tools = this.engine
      .listTools(query.server_id)
      .filter((ref) => !allowed || allowed.has(ref.serverId))
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

  /** One tool; 409 when the name exists on several servers and no server is named. */
  get(name: string, serverId?: string, allowed?: ReadonlySet<string>): ToolDto {
    if (serverId) this.servers.find(serverId);
    return this.toDto(this.engine.findTool(name, serverId ?? this.allowedServerOf(name, allowed)));
  }

  async execute(request: ExecuteRequest): Promise<ExecutionResultDto> {
    if (request.serverId) this.servers.find(request.serverId);
    const { serverId } = this.engine.findTool(
      request.name,
      request.serverId ?? this.allowedServerOf(request.name, request.allowedServers),
    );
    const startedAt = new Date();
    const started = performance.now();
    const result = await this.engine.callTool(serverId, request.name, request.parameters, {
      timeoutMs: request.timeoutMs,
      signal: request.signal,
    });
    const durationMs = Math.round((performance.now() - started) * 100) / 100;
    return {
      execution_id: randomUUID(),
      status: 'completed',
      result: {
        content: result.content ?? [],
        ...(result.structuredContent !== undefined ? { structured_content: result.structuredContent } : {}),
        is_error: result.isError === true,
      },
      server_id: serverId,
      tool_name: request.name,
      started_at: startedAt.toISOString(),
      completed_at: new Date().toISOString(),
      duration_ms: durationMs,
    };
  }

  /**
   * For a caller limited to some servers and naming none: the one allowed server offering the tool (404 when
   * none does, 409 when several do), so tools of other servers neither resolve nor make a name ambiguous.
   */
  private allowedServerOf(name: string, allowed?: ReadonlySet<string>): string | undefined {
    if (!allowed) return undefined;
    const hits = this.engine
      .listTools()
      .filter((ref) => ref.tool.name === name && allowed.has(ref.serverId))
      .map((ref) => ref.serverId)
      .sort();
    if (hits.length === 0) throw AppException.notFound(`Tool '${name}'`, { tool: name });
    if (hits.length > 1) {
      throw AppException.conflict(`Tool '${name}' exists on several servers; name one`, { tool: name, servers: hits });
    }
    return hits[0];
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
