import { Injectable } from '@nestjs/common';
import type { Prompt } from '@modelcontextprotocol/sdk/types.js';
import type { Principal } from 'src/auth/principal';
import { UpstreamCredential } from 'src/calls/stages/upstream-credential';
import { AppException } from 'src/common/errors/app.exception';
import { McpEngine } from 'src/mcp/mcp-engine';
import { orEmpty, ServersService } from 'src/servers/servers.service';
import type { PromptDto, PromptListDto, PromptResultDto } from './dto/prompt.dto';

export interface GetPromptRequest {
  name: string;
  serverId?: string;
  arguments?: Record<string, string>;
  /** Aborted when the HTTP client goes away: the upstream call is cancelled too. */
  signal?: AbortSignal;
  /** The caller's server allow-list (undefined: every server), for finding the prompt's server. */
  allowedServers?: ReadonlySet<string>;
  /** Who asks: a server that acts on behalf of each caller renders with this caller's credential (ADR 0007, 0011). */
  principal?: Principal;
}

/** Prompts across servers, and rendering one with its arguments. */
@Injectable()
export class PromptsService {
  constructor(
    private readonly engine: McpEngine,
    private readonly servers: ServersService,
    private readonly credentials: UpstreamCredential,
  ) {}

  list(serverId?: string, allowed?: ReadonlySet<string>): PromptListDto {
    const prompts = this.servers
      .scope(serverId, allowed)
      .flatMap((id) => this.engine.listPrompts(id).map((prompt) => toPromptDto(id, prompt)))
      .sort((a, b) => a.server_id.localeCompare(b.server_id) || a.name.localeCompare(b.name));
    return { prompts, total_count: prompts.length };
  }

  /**
   * Renders a prompt. Without a server id the prompt is looked up across servers: 404 when none offers it, 409 when
   * several do. Required arguments are checked against the catalog before the upstream is called.
   */
  async get(request: GetPromptRequest): Promise<PromptResultDto> {
    const { serverId, prompt } = this.find(request.name, request.serverId, request.allowedServers);
    const args = request.arguments ?? {};
    const missing = (prompt?.arguments ?? [])
      .filter((a) => a.required === true && args[a.name] === undefined)
      .map((a) => a.name);
    if (missing.length > 0) {
      throw AppException.invalid(`Prompt '${request.name}' requires argument(s): ${missing.join(', ')}`, {
        fields: missing.map((field) => ({ field: `arguments.${field}`, problems: ['is required'] })),
      });
    }
    const credential = await this.credentials.forServer(serverId, request.principal, request.name);
    const result = await this.engine.getPrompt(serverId, request.name, args, { signal: request.signal, credential });
    return {
      server_id: serverId,
      description: result.description ?? prompt?.description ?? null,
      messages: result.messages as unknown as Record<string, unknown>[],
    };
  }

  /** The prompt's server and catalog entry (undefined when the catalog does not list it yet: the upstream decides). */
  private find(
    name: string,
    serverId?: string,
    allowed?: ReadonlySet<string>,
  ): { serverId: string; prompt: Prompt | undefined } {
    if (serverId) {
      this.servers.find(serverId);
      const prompt = this.engine.listPrompts(serverId).find((p) => p.name === name);
      return { serverId, prompt };
    }
    const hits = this.servers.scope(undefined, allowed).flatMap((id) =>
      orEmpty(() => this.engine.listPrompts(id))
        .filter((p) => p.name === name)
        .map((prompt) => ({ serverId: id, prompt })),
    );
    if (hits.length === 0) throw AppException.notFound(`Prompt '${name}'`, { prompt: name });
    if (hits.length > 1) {
      throw AppException.conflict(`Prompt '${name}' exists on several servers; pass server_id`, {
        prompt: name,
        servers: hits.map((h) => h.serverId),
      });
    }
    return hits[0]!;
  }
}

function toPromptDto(serverId: string, prompt: Prompt): PromptDto {
  return {
    name: prompt.name,
    ...(prompt.title ? { title: prompt.title } : {}),
    description: prompt.description ?? null,
    arguments: (prompt.arguments ?? []).map((a) => ({
      name: a.name,
      ...(a.description !== undefined ? { description: a.description } : {}),
      ...(a.required !== undefined ? { required: a.required } : {}),
    })),
    server_id: serverId,
  };
}
