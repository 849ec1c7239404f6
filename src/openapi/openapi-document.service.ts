import { Inject, Injectable, type OnModuleDestroy, type OnModuleInit, Optional } from '@nestjs/common';
import type { OpenAPIObject, OperationObject, PathItemObject } from '@nestjs/swagger';
import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import type { Principal } from 'src/auth/principal';
import { missingScopes, type Scope } from 'src/auth/scopes';
import { APP_CONFIG } from 'src/config/config.module';
import type { AppConfig } from 'src/config/config.schema';
import { McpEngine } from 'src/mcp/mcp-engine';
import { PolicyService } from 'src/policy/policy.service';
import type { CatalogChangedEvent } from 'src/mcp/mcp-engine.events';
import { ServersService } from 'src/servers/servers.service';
import { exposedTools } from 'src/virtual-servers/virtual-composition';
import { VirtualServersService } from 'src/virtual-servers/virtual-servers.service';
import { requiredScopes } from './security-requirements';
import { buildToolOperations, type CatalogTool, X_ANNOTATIONS, X_SERVER, X_TOOL } from './tool-operations';
import { buildVirtualOperations, X_VIRTUAL_SERVER } from './virtual-operations';

const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

/**
 * The OpenAPI document as served: the static one of the controllers (built once at boot) plus one typed operation per
 * tool of the live catalog. The merged document is rebuilt lazily after any catalog change (tools discovered,
 * `list_changed`, a server added or removed), without a restart; fetched with a credential, it is cut down to what
 * that caller may call (its scopes and its server allow-list). Without a credential the tool operations are left out
 * (they name every tenant's servers and tools) unless `mcp.openapi.anonymous-tools` is on.
 */
@Injectable()
export class OpenApiDocumentService implements OnModuleInit, OnModuleDestroy {
  private base: OpenAPIObject | undefined;
  private merged: OpenAPIObject | undefined;
  private anonymous: OpenAPIObject | undefined;
  private version = 0;

  constructor(
    private readonly engine: McpEngine,
    private readonly servers: ServersService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly policy: PolicyService,
    @Optional() private readonly virtuals?: VirtualServersService,
  ) {}

  private offVirtuals?: () => void;

  onModuleInit(): void {
    this.engine.on('catalog.changed', this.onCatalogChanged);
    this.engine.on('server.removed', this.invalidate);
    this.offVirtuals = this.virtuals?.onChange(this.invalidate);
  }

  onModuleDestroy(): void {
    this.engine.off('catalog.changed', this.onCatalogChanged);
    this.engine.off('server.removed', this.invalidate);
    this.offVirtuals?.();
  }

  /** The document of the controllers (src/bootstrap/openapi.ts builds it once the app is initialised). */
  setBase(document: OpenAPIObject): void {
    this.base = document;
    this.invalidate();
  }

  /** Bumped on every catalog change: what a cached copy of the document can be compared against. */
  get catalogVersion(): number {
    return this.version;
  }

  /** The part of the document the principal may call; without one, everything but (by default) the tools. */
  documentFor(principal?: Principal): OpenAPIObject {
    const full = (this.merged ??= this.build());
    // Tool operations the tool-level policy denies are left out, as every other list of tools leaves them out.
    const permitted = (operation: OperationObject) => this.permitted(operation, principal);
    if (principal) return filterFor(full, principal, permitted);
    if (this.config.mcp.openapi.anonymousTools) return filterOperations(full, permitted);
    return (this.anonymous ??= withAuthorizeHint(
      filterOperations(full, (operation) => serverOf(operation) === undefined),
    ));
  }

  private readonly onCatalogChanged = ({ kinds }: CatalogChangedEvent): void => {
    if (kinds.includes('tools')) this.invalidate();
  };

  private readonly invalidate = (): void => {
    this.merged = undefined;
    this.anonymous = undefined;
    this.version++;
  };

  private build(): OpenAPIObject {
    if (!this.base) throw new Error('OpenApiDocumentService: the base document is not set yet');
    const tools: CatalogTool[] = this.engine
      .listTools()
      .map(({ serverId, tool }) => ({ serverId, serverName: this.serverName(serverId), tool }))
      .sort((a, b) => a.serverId.localeCompare(b.serverId) || a.tool.name.localeCompare(b.tool.name));
    const extra = buildToolOperations(tools, this.base);
    // Virtual servers (ADR 0009): their exposed tools under a tag each; the cut per caller treats them as the real tool.
    const virtuals = this.virtuals;
    const virtual = buildVirtualOperations(
      (virtuals?.list() ?? []).map((def) => ({ def, tools: exposedTools(def, virtuals!.catalog) })),
      this.base,
    );
    return sortKeys({
      ...this.base,
      paths: { ...this.base.paths, ...extra.paths, ...virtual.paths },
      tags: [...(this.base.tags ?? []), ...extra.tags, ...virtual.tags],
      components: {
        ...this.base.components,
        schemas: { ...this.base.components?.schemas, ...extra.schemas, ...virtual.schemas },
      },
    });
  }

  private permitted(operation: OperationObject, principal: Principal | undefined): boolean {
    const server = serverOf(operation);
    const name = (operation as unknown as Record<string, unknown>)[X_TOOL];
    if (typeof server !== 'string' || typeof name !== 'string') return true;
    const annotations = (operation as unknown as Record<string, unknown>)[X_ANNOTATIONS] as Tool['annotations'];
    return this.policy.permits(principal, server, { name, annotations });
  }

  private serverName(id: string): string {
    try {
      return this.servers.find(id).entry.name ?? id;
    } catch {
      return id;
    }
  }
}

/**
 * The operations the principal may call: those whose scopes it holds (read from the OAuth2 requirement every
 * authenticated route declares) and, for tool operations, whose server is on its allow-list. Schemas and tags of the
 * tool operations left out go too, so the document does not describe what the caller cannot see.
 */
export function filterFor(
  document: OpenAPIObject,
  principal: Principal,
  permitted: (operation: OperationObject) => boolean = () => true,
): OpenAPIObject {
  return filterOperations(document, (operation) => allowed(operation, principal) && permitted(operation));
}

/** The operations `keep` accepts; the schemas and tags of the tool operations left out go with them. */
function filterOperations(document: OpenAPIObject, keep: (operation: OperationObject) => boolean): OpenAPIObject {
  const paths: Record<string, PathItemObject> = {};
  const hiddenTags = new Set<string>();
  const hiddenSchemaPrefixes: string[] = [];
  for (const [path, item] of Object.entries(document.paths)) {
    const kept: PathItemObject = { ...item };
    let any = false;
    for (const method of HTTP_METHODS) {
      const operation = item[method];
      if (!operation) continue;
      if (keep(operation)) {
        any = true;
        continue;
      }
      delete kept[method];
      const server = serverOf(operation);
      if (typeof server === 'string') {
        for (const tag of operation.tags ?? []) hiddenTags.add(tag);
        if (operation.operationId) hiddenSchemaPrefixes.push(`${operation.operationId}.`);
      }
    }
    if (any) paths[path] = kept;
  }
  // A tool operation's tag (`Tools: <server>`, `Virtual server: <id>`) goes when no kept operation carries it.
  for (const item of Object.values(paths)) {
    for (const method of HTTP_METHODS) {
      for (const tag of item[method]?.tags ?? []) hiddenTags.delete(tag);
    }
  }
  const schemas = Object.fromEntries(
    Object.entries(document.components?.schemas ?? {}).filter(
      ([name]) => !hiddenSchemaPrefixes.some((prefix) => name.startsWith(prefix)),
    ),
  );
  return {
    ...document,
    paths,
    tags: (document.tags ?? []).filter((tag) => !hiddenTags.has(tag.name)),
    components: { ...document.components, schemas },
  };
}

/** Shown at the top of Swagger UI before "Authorize": where the tools are. */
export const AUTHORIZE_HINT =
  '**Where are the tools?** Each tool of the connected MCP servers gets its own operation (under a "Tools: <server>" ' +
  'tag) once you give a credential: press **Authorize**, enter an API key (X-API-Key) or a bearer token, and the ' +
  'page reloads with the tools that credential may call.';

/** The anonymous document says where the tool operations went, in the description Swagger UI shows first. */
function withAuthorizeHint(document: OpenAPIObject): OpenAPIObject {
  const description = document.info.description ? `${AUTHORIZE_HINT}\n\n${document.info.description}` : AUTHORIZE_HINT;
  return { ...document, info: { ...document.info, description } };
}

const serverOf = (operation: OperationObject): unknown => (operation as unknown as Record<string, unknown>)[X_SERVER];

function allowed(operation: OperationObject, principal: Principal): boolean {
  const server = serverOf(operation);
  if (typeof server === 'string' && principal.servers && !principal.servers.has(server)) return false;
  // A virtual server's operations also need the virtual server on the allow-list, as its routes do.
  const virtual = (operation as unknown as Record<string, unknown>)[X_VIRTUAL_SERVER];
  if (typeof virtual === 'string' && principal.servers && !principal.servers.has(virtual)) return false;
  if (!operation.security || operation.security.length === 0) return true;
  return missingScopes(principal.scopes, requiredScopes(operation) as Scope[]).length === 0;
}

/** Deterministic key order, so the committed document diffs cleanly. */
export function sortKeys<T>(value: T): T {
  if (Array.isArray(value)) return value.map(sortKeys) as T;
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((k) => [k, sortKeys((value as Record<string, unknown>)[k])]),
    ) as T;
  }
  return value;
}
