import type { Prompt, Resource, ResourceTemplate, ServerCapabilities, Tool } from '@modelcontextprotocol/sdk/types.js';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { isServerAllowed } from 'src/auth/principal';
import type { McpEngine } from 'src/mcp/mcp-engine';
import {
  type CatalogReader,
  exposedPrompts,
  exposedResources,
  exposedTemplates,
  exposedTools,
  resolveCall,
  resolvePrompt,
  type VirtualServer,
} from 'src/virtual-servers/virtual-composition';
import { CatalogView, type Target, type ToolCallTarget, type ToolFilter } from './catalog-view';
import { RESOURCE_NOT_FOUND_RPC, toMcpError } from './mcp-errors';
import { matchesTemplate } from './namespacing';

/**
 * What `/mcp/{virtual_id}` shows (ADR 0009): a virtual server's composition of its members' upstreams, under its own
 * names, read from the live catalog on each call like every view. The caller's allow-list and the tool-level policy
 * apply to each member's real server and tool, so a denied member is neither listed nor callable (the call pipeline
 * refuses it with the rule's 403). A call becomes one of the real tool with the fixed arguments merged in.
 */
export class VirtualCatalogView extends CatalogView {
  constructor(
    private readonly engineRef: McpEngine,
    private readonly def: VirtualServer,
    private readonly catalog: CatalogReader,
    private readonly allowedServers: ReadonlySet<string> | undefined,
    separator: string,
    private readonly permits: ToolFilter = () => true,
  ) {
    super(engineRef, def.id, allowedServers, separator, permits);
  }

  override servers(): string[] {
    const members = [...this.def.tools, ...this.def.prompts, ...this.def.resources].map((m) => m.server);
    return [...new Set(members)].filter((id) => isServerAllowed(this.allowedServers, id)).sort();
  }

  override includes(serverId: string): boolean {
    return this.servers().includes(serverId);
  }

  override identity(): { name: string; instructions?: string } {
    return {
      name: this.def.name ?? this.def.id,
      ...(this.def.description !== undefined ? { instructions: this.def.description } : {}),
    };
  }

  override capabilities(): ServerCapabilities {
    const completions = this.servers().some((id) => this.engineRef.getServerCapabilities(id)?.completions);
    return {
      tools: { listChanged: true },
      ...(this.def.resources.length > 0 ? { resources: { subscribe: true, listChanged: true } } : {}),
      ...(this.def.prompts.length > 0 ? { prompts: { listChanged: true } } : {}),
      ...(completions ? { completions: {} } : {}),
      logging: {},
    };
  }

  override tools(): Tool[] {
    return exposedTools(this.def, this.catalog)
      .filter((t) => this.allowedServer(t.serverId) && this.permits(t.serverId, { ...t.tool, name: t.toolName }))
      .map((t) => t.tool);
  }

  override prompts(): Prompt[] {
    return exposedPrompts(this.def, this.catalog)
      .filter((p) => this.allowedServer(p.serverId))
      .map((p) => p.prompt);
  }

  override resources(): Resource[] {
    return exposedResources(this.def, this.catalog)
      .filter((r) => this.allowedServer(r.serverId))
      .map((r) => r.resource);
  }

  override resourceTemplates(): ResourceTemplate[] {
    return exposedTemplates(this.def, this.catalog)
      .filter((t) => this.allowedServer(t.serverId))
      .map((t) => t.template);
  }

  override toolCall(name: string, args: Record<string, unknown>): ToolCallTarget {
    try {
      const call = resolveCall(this.def, name, args, this.catalog);
      return { serverId: call.serverId, name: call.toolName, arguments: call.arguments, virtualServerId: this.def.id };
    } catch (error) {
      throw toMcpError(error, 'tool');
    }
  }

  override resolveName(name: string, kind: 'tool' | 'prompt'): Target {
    try {
      if (kind === 'prompt') {
        const prompt = resolvePrompt(this.def, name, this.catalog);
        return { serverId: prompt.serverId, name: prompt.promptName };
      }
      const call = resolveCall(this.def, name, {}, this.catalog);
      return { serverId: call.serverId, name: call.toolName };
    } catch (error) {
      throw toMcpError(error, kind);
    }
  }

  override resolveUri(uri: string): Target {
    const listed = exposedResources(this.def, this.catalog).find((r) => r.resource.uri === uri);
    const served =
      listed ??
      exposedTemplates(this.def, this.catalog).find(
        (t) => t.template.uriTemplate === uri || matchesTemplate(uri, t.template.uriTemplate),
      );
    if (!served || !this.allowedServer(served.serverId)) {
      throw new McpError(RESOURCE_NOT_FOUND_RPC, `Resource not found: ${uri}`, {
        code: 'RESOURCE_NOT_FOUND',
        details: { uri },
      });
    }
    return { serverId: served.serverId, name: uri };
  }

  private allowedServer(serverId: string): boolean {
    return isServerAllowed(this.allowedServers, serverId);
  }
}
