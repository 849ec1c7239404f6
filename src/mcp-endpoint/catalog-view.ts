import type { Prompt, Resource, ResourceTemplate, ServerCapabilities, Tool } from '@modelcontextprotocol/sdk/types.js';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { isServerAllowed } from 'src/auth/principal';
import type { McpEngine } from 'src/mcp/mcp-engine';
import { RESOURCE_NOT_FOUND_RPC } from './mcp-errors';
import { MAX_NAME_LENGTH, matchesTemplate, namespaced, splitNamespaced } from './namespacing';

/** The aggregated endpoint's view id. */
export const AGGREGATED = '*';

/** Whether the caller may see (and so call) a tool of a server: the tool-level policy (src/policy). */
export type ToolFilter = (serverId: string, tool: Tool) => boolean;

export interface Target {
  serverId: string;
  /** The upstream's own name (tool, prompt) or URI. */
  name: string;
}

/** A `tools/call` as it goes to the call pipeline: the upstream target, its arguments, the virtual server if any. */
export interface ToolCallTarget extends Target {
  arguments: Record<string, unknown>;
  virtualServerId?: string;
}

/**
 * What one MCP session sees: one server under its own names (`/mcp/{server_id}`), or every server the caller may use
 * under namespaced names (`/mcp`, see namespacing.ts). Read from the engine's catalog on each call, so it follows
 * list_changed and registry changes without any state of its own.
 *
 * Resource URIs are never rewritten. On `/mcp` a URI is routed by an index: the servers are taken in id order and the
 * first that lists the URI wins; a URI nobody lists goes to the first server with a matching resource template.
 * (The same URI on two servers is served by the first; the others' copy stays reachable on `/mcp/{server_id}`.)
 */
export class CatalogView {
  constructor(
    private readonly engine: McpEngine,
    /** `*` or a server id. */
    readonly view: string,
    private readonly allowed: ReadonlySet<string> | undefined,
    private readonly separator: string,
    private readonly visible: ToolFilter = () => true,
  ) {}

  get aggregated(): boolean {
    return this.view === AGGREGATED;
  }

  /** Servers of this view, in id order. */
  servers(): string[] {
    if (!this.aggregated) return [this.view];
    return this.engine
      .listServerStates()
      .filter((s) => s.enabled && isServerAllowed(this.allowed, s.id))
      .map((s) => s.id)
      .sort();
  }

  includes(serverId: string): boolean {
    return this.aggregated ? isServerAllowed(this.allowed, serverId) : serverId === this.view;
  }

  /** What the client is told at initialize: the union of what the view's upstreams announce. */
  capabilities(): ServerCapabilities {
    const announced = this.servers().map((id) => this.engine.getServerCapabilities(id) ?? {});
    const any = (key: keyof ServerCapabilities) => this.aggregated || announced.some((c) => c[key] !== undefined);
    return {
      // The gateway itself lists (possibly nothing), and tells about list changes of any upstream.
      tools: { listChanged: true },
      ...(any('resources') ? { resources: { subscribe: true, listChanged: true } } : {}),
      ...(any('prompts') ? { prompts: { listChanged: true } } : {}),
      ...(any('completions') ? { completions: {} } : {}),
      logging: {},
    };
  }

  tools(): Tool[] {
    return this.servers().flatMap((id) =>
      this.engine
        .listTools(id)
        .filter(({ tool }) => this.visible(id, tool))
        .map(({ tool }) => (this.aggregated ? { ...tool, name: namespaced(id, tool.name, this.separator) } : tool)),
    );
  }

  prompts(): Prompt[] {
    return this.servers().flatMap((id) =>
      this.engine
        .listPrompts(id)
        .map((prompt) => (this.aggregated ? { ...prompt, name: namespaced(id, prompt.name, this.separator) } : prompt)),
    );
  }

  resources(): Resource[] {
    const seen = new Set<string>();
    const out: Resource[] = [];
    for (const id of this.servers()) {
      for (const resource of this.engine.listResources(id)) {
        if (seen.has(resource.uri)) continue;
        seen.add(resource.uri);
        out.push(resource);
      }
    }
    return out;
  }

  resourceTemplates(): ResourceTemplate[] {
    const seen = new Set<string>();
    return this.servers()
      .flatMap((id) => this.engine.listResourceTemplates(id))
      .filter((t) => !seen.has(t.uriTemplate) && seen.add(t.uriTemplate));
  }

  /** How the view presents itself, when not as its one upstream or as the gateway (a virtual server). */
  identity(): { name: string; instructions?: string } | undefined {
    return undefined;
  }

  /** What a `tools/call` of `name` becomes (a virtual server renames and adds fixed arguments: virtual-view.ts). */
  toolCall(name: string, args: Record<string, unknown>): ToolCallTarget {
    const target = this.resolveName(name, 'tool');
    return { serverId: target.serverId, name: target.name, arguments: args };
  }

  /** The server and upstream name of a tool or prompt name as the client wrote it; -32602 when unknown. */
  resolveName(name: string, kind: 'tool' | 'prompt'): Target {
    if (!this.aggregated) return { serverId: this.view, name };
    const split = splitNamespaced(name, this.servers(), this.separator);
    const target = split && this.unshortened(split, name, kind);
    if (!target) {
      throw new McpError(-32602, `Unknown ${kind} '${name}': expected <server_id>${this.separator}<name>`, {
        code: 'RESOURCE_NOT_FOUND',
        details: { [kind]: name },
      });
    }
    return target;
  }

  /** The upstream name behind a name that was cut to 128 characters (namespacing.ts), else the split as is. */
  private unshortened(split: Target, exposed: string, kind: 'tool' | 'prompt'): Target {
    if (exposed.length < MAX_NAME_LENGTH) return split;
    const names =
      kind === 'tool'
        ? this.engine.listTools(split.serverId).map((t) => t.tool.name)
        : this.engine.listPrompts(split.serverId).map((p) => p.name);
    const original = names.find((n) => namespaced(split.serverId, n, this.separator) === exposed);
    return original === undefined ? split : { serverId: split.serverId, name: original };
  }

  /** The server a resource URI goes to (see the class comment); -32002 when no server of the view has it. */
  resolveUri(uri: string): Target {
    if (!this.aggregated) return { serverId: this.view, name: uri };
    const servers = this.servers();
    const listed = servers.find((id) => this.engine.listResources(id).some((r) => r.uri === uri));
    const templated =
      listed ??
      servers.find((id) =>
        this.engine.listResourceTemplates(id).some((t) => t.uriTemplate === uri || matchesTemplate(uri, t.uriTemplate)),
      );
    if (!templated) {
      throw new McpError(RESOURCE_NOT_FOUND_RPC, `Resource not found: ${uri}`, {
        code: 'RESOURCE_NOT_FOUND',
        details: { uri },
      });
    }
    return { serverId: templated, name: uri };
  }
}
