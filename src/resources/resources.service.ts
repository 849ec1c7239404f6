import { Injectable } from '@nestjs/common';
import type { ReadResourceResult, Resource, ResourceTemplate } from '@modelcontextprotocol/sdk/types.js';
import { ErrorCode as RpcErrorCode } from '@modelcontextprotocol/sdk/types.js';
import type { Principal } from 'src/auth/principal';
import { UpstreamCredential } from 'src/calls/stages/upstream-credential';
import { AppException } from 'src/common/errors/app.exception';
import { EngineErrorCode, isEngineError } from 'src/mcp/engine-error';
import { McpEngine } from 'src/mcp/mcp-engine';
import { orEmpty, ServersService } from 'src/servers/servers.service';
import type {
  ContentFormat,
  ListResourcesQueryDto,
  ResourceContentDto,
  ResourceDto,
  ResourceListDto,
  ResourceTemplateDto,
  ResourceTemplateListDto,
} from './dto/resource.dto';
import { mimeTypeMatches, uriMatcher, uriTemplateMatches } from './resource-matching';

/** MCP's "resource not found" (spec); SDK servers answer an unknown URI with InvalidParams instead. */
const RESOURCE_NOT_FOUND_RPC = -32002;

export interface ReadContentRequest {
  uri: string;
  serverId?: string;
  format?: ContentFormat;
  timeoutMs?: number;
  /** Aborted when the HTTP client goes away: the upstream read is cancelled too. */
  signal?: AbortSignal;
  /** The caller's server allow-list (undefined: every server), for finding the server of a URI. */
  allowedServers?: ReadonlySet<string>;
  /** Who reads: a server that acts on behalf of each caller reads with this caller's credential (ADR 0007, 0011). */
  principal?: Principal;
}

type ContentPart = ReadResourceResult['contents'][number];

/** Resources and resource templates across servers, and reading them. */
@Injectable()
export class ResourcesService {
  constructor(
    private readonly engine: McpEngine,
    private readonly servers: ServersService,
    private readonly credentials: UpstreamCredential,
  ) {}

  list(query: ListResourcesQueryDto, allowed?: ReadonlySet<string>): ResourceListDto {
    const matchesUri = query.uri_pattern ? uriMatcher(query.uri_pattern) : undefined;
    const resources = this.servers
      .scope(query.server_id, allowed)
      .flatMap((serverId) => this.engine.listResources(serverId).map((resource) => toResourceDto(serverId, resource)))
      .filter((r) => !query.type || mimeTypeMatches(r.mime_type ?? undefined, query.type))
      .filter((r) => !matchesUri || matchesUri(r.uri))
      .sort((a, b) => a.server_id.localeCompare(b.server_id) || a.uri.localeCompare(b.uri));
    return { resources, total_count: resources.length };
  }

  listTemplates(serverId?: string, allowed?: ReadonlySet<string>): ResourceTemplateListDto {
    const templates = this.servers
      .scope(serverId, allowed)
      .flatMap((id) => this.engine.listResourceTemplates(id).map((template) => toTemplateDto(id, template)))
      .sort((a, b) => a.server_id.localeCompare(b.server_id) || a.uri_template.localeCompare(b.uri_template));
    return { resource_templates: templates, total_count: templates.length };
  }

  /** `resources/read` on one server, passed through as the upstream answered. */
  async read(
    serverId: string,
    uri: string,
    options: { timeoutMs?: number; signal?: AbortSignal; principal?: Principal } = {},
  ): Promise<ReadResourceResult> {
    this.servers.find(serverId);
    const credential = await this.credentials.forServer(serverId, options.principal, uri);
    try {
      return await this.engine.readResource(serverId, uri, {
        timeoutMs: options.timeoutMs,
        signal: options.signal,
        credential,
      });
    } catch (error) {
      throw notFoundIfUnknownUri(error, serverId, uri);
    }
  }

  /** Reads a resource and shapes its first part as `format` asks; every part is kept in `contents`. */
  async content(request: ReadContentRequest): Promise<ResourceContentDto> {
    const serverId = request.serverId ?? this.resolveServer(request.uri, request.allowedServers);
    const result = await this.read(serverId, request.uri, {
      timeoutMs: request.timeoutMs,
      signal: request.signal,
      principal: request.principal,
    });
    const contents = result.contents ?? [];
    const part = contents.find((c) => c.uri === request.uri) ?? contents[0];
    const declaredMime = orEmpty(() => this.engine.listResources(serverId)).find(
      (r) => r.uri === request.uri,
    )?.mimeType;
    return {
      uri: request.uri,
      server_id: serverId,
      ...render(part, request.format, declaredMime),
      contents: contents as unknown as Record<string, unknown>[],
    };
  }

  /**
   * The one server that offers `uri`: first by its resource list, then by its resource templates. 409 when several
   * do, 400 (name a server) when none does.
   */
  private resolveServer(uri: string, allowed?: ReadonlySet<string>): string {
    const ids = this.servers.scope(undefined, allowed);
    let owners = ids.filter((id) => orEmpty(() => this.engine.listResources(id)).some((r) => r.uri === uri));
    if (owners.length === 0) {
      owners = ids.filter((id) =>
        orEmpty(() => this.engine.listResourceTemplates(id)).some((t) => uriTemplateMatches(t.uriTemplate, uri)),
      );
    }
    if (owners.length === 1) return owners[0]!;
    if (owners.length > 1) {
      throw AppException.conflict(`Resource '${uri}' is offered by several servers; pass server_id`, {
        uri,
        servers: owners,
      });
    }
    throw AppException.invalid(`No server lists resource '${uri}'; pass server_id to read it from a given server`, {
      uri,
    });
  }
}

function toResourceDto(serverId: string, resource: Resource): ResourceDto {
  return {
    uri: resource.uri,
    name: resource.name,
    ...(resource.title ? { title: resource.title } : {}),
    description: resource.description ?? null,
    mime_type: resource.mimeType ?? null,
    server_id: serverId,
    ...(typeof resource.size === 'number' ? { size: resource.size } : {}),
  };
}

function toTemplateDto(serverId: string, template: ResourceTemplate): ResourceTemplateDto {
  return {
    uri_template: template.uriTemplate,
    name: template.name,
    ...(template.title ? { title: template.title } : {}),
    description: template.description ?? null,
    mime_type: template.mimeType ?? null,
    server_id: serverId,
  };
}

/** An upstream "no such resource" is a 404 of ours, not a failed upstream (502). */
function notFoundIfUnknownUri(error: unknown, serverId: string, uri: string): unknown {
  if (!isEngineError(error, EngineErrorCode.UPSTREAM_ERROR)) return error;
  const code = error.details?.rpcCode;
  const message = typeof error.details?.rpcMessage === 'string' ? error.details.rpcMessage : '';
  if (code === RESOURCE_NOT_FOUND_RPC || (code === RpcErrorCode.InvalidParams && /not found/i.test(message))) {
    return AppException.notFound(`Resource '${uri}' on server '${serverId}'`, {
      server_id: serverId,
      uri,
      upstream_message: message,
    });
  }
  return error;
}

function render(
  part: ContentPart | undefined,
  format: ContentFormat | undefined,
  declaredMime: string | undefined,
): Pick<ResourceContentDto, 'content' | 'metadata'> {
  if (!part)
    return { content: null, metadata: { content_type: declaredMime ?? null, size_bytes: 0, encoding: 'text' } };
  const text = 'text' in part && typeof part.text === 'string' ? part.text : undefined;
  const blob = 'blob' in part && typeof part.blob === 'string' ? part.blob : '';
  const bytes = text !== undefined ? Buffer.from(text, 'utf8') : Buffer.from(blob, 'base64');
  const metadata = (encoding: string) => ({
    content_type: part.mimeType ?? declaredMime ?? null,
    size_bytes: bytes.length,
    encoding,
  });
  switch (format) {
    case 'binary':
      return { content: text !== undefined ? bytes.toString('base64') : blob, metadata: metadata('base64') };
    case 'text':
      return { content: text ?? asUtf8(bytes, part.uri), metadata: metadata('text') };
    case 'json':
      return { content: parseJson(text ?? asUtf8(bytes, part.uri), part.uri), metadata: metadata('json') };
    case undefined:
      return text !== undefined
        ? { content: text, metadata: metadata('text') }
        : { content: blob, metadata: metadata('base64') };
  }
}

function parseJson(text: string, uri: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw AppException.invalid(`Resource '${uri}' is not JSON: ${(error as Error).message}`, { uri, format: 'json' });
  }
}

function asUtf8(bytes: Buffer, uri: string): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw AppException.invalid(`Resource '${uri}' is binary, not UTF-8 text; use format=binary`, { uri });
  }
}
