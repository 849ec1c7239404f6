import { Inject, Injectable, Logger } from '@nestjs/common';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { AjvJsonSchemaValidator } from '@modelcontextprotocol/sdk/validation/ajv-provider.js';
import {
  CallToolRequestSchema,
  CompleteRequestSchema,
  GetPromptRequestSchema,
  ListPromptsRequestSchema,
  ListResourcesRequestSchema,
  ListResourceTemplatesRequestSchema,
  ListToolsRequestSchema,
  ReadResourceRequestSchema,
  SetLevelRequestSchema,
  SubscribeRequestSchema,
  UnsubscribeRequestSchema,
  type CallToolRequest,
  type CallToolResult,
  type CompleteRequest,
  type CompleteResult,
  type EmptyResult,
  type GetPromptRequest,
  type GetPromptResult,
  type ListPromptsResult,
  type ListResourcesResult,
  type ListResourceTemplatesResult,
  type ListToolsResult,
  type ReadResourceRequest,
  type ReadResourceResult,
  type RequestId,
  type SetLevelRequest,
  type SubscribeRequest,
  type UnsubscribeRequest,
} from '@modelcontextprotocol/sdk/types.js';
import { readBuildInfo } from 'src/common/build-info';
import { APP_CONFIG } from 'src/config/config.module';
import type { AppConfig } from 'src/config/config.schema';
import { UpstreamCredential } from 'src/calls/stages/upstream-credential';
import { McpEngine } from 'src/mcp/mcp-engine';
import type { CatalogView } from './catalog-view';
import type { ClientScope } from './client-scope';
import { toMcpError } from './mcp-errors';
import { McpSessionRelay } from './mcp-session.relay';
import { McpSessions } from './mcp-sessions.service';
import { type HandlerExtra, ToolCallBridge } from './tool-call.bridge';

/**
 * One validator for every per-request `Server`: without it each `Server` builds its own Ajv instance (measured: the
 * largest cost of a front-door request). Only `elicitInput` of the SDK uses it, which the gateway does not call.
 */
const SHARED_VALIDATOR = new AjvJsonSchemaValidator();

/**
 * Builds the SDK `Server` that answers one client scope (ADR 0003: one per HTTP request, or per legacy SSE
 * connection), presenting the scope's catalog view. Each MCP method has a named handler here; `tools/call` is the
 * ToolCallBridge's. The capabilities announced are the view's: a view without prompts has no prompt handlers.
 */
@Injectable()
export class McpServerFactory {
  private readonly logger = new Logger('McpFrontDoor');
  private readonly version = readBuildInfo().version;
  private readonly separator: string;

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly engine: McpEngine,
    private readonly relay: McpSessionRelay,
    private readonly sessions: McpSessions,
    private readonly toolCalls: ToolCallBridge,
    private readonly credentials: UpstreamCredential,
  ) {
    this.separator = config.mcp.endpoint.separator;
  }

  /** How a view presents itself: one server as itself (its name, version and instructions), the aggregate as the gateway. */
  presentation(view: CatalogView): { serverInfo: { name: string; version: string }; instructions?: string } {
    const own = view.identity();
    if (own) return { serverInfo: { name: own.name, version: this.version }, instructions: own.instructions };
    const upstream = view.aggregated ? undefined : this.engine.getServerState(view.view).serverInfo;
    return {
      serverInfo: upstream
        ? { name: upstream.name, version: upstream.version }
        : { name: 'globalmcp', version: this.version },
      instructions: view.aggregated
        ? `Tools and prompts of every server you may use, named <server_id>${this.separator}<name>.`
        : this.engine.getServerInstructions(view.view),
    };
  }

  build(scope: ClientScope): Server {
    const view = scope.view;
    const capabilities = view.capabilities();
    const { serverInfo, instructions } = this.presentation(view);
    const server = new Server(serverInfo, { capabilities, jsonSchemaValidator: SHARED_VALIDATOR, instructions });
    server.onerror = (error) => this.logger.debug(`MCP session ${scope.sessionId}: ${error.message}`);

    server.setRequestHandler(ListToolsRequestSchema, () => this.listTools(scope));
    server.setRequestHandler(CallToolRequestSchema, (r, extra) => this.callTool(scope, r.params, extra));
    if (capabilities.resources) {
      server.setRequestHandler(ListResourcesRequestSchema, () => this.listResources(scope));
      server.setRequestHandler(ListResourceTemplatesRequestSchema, () => this.listResourceTemplates(scope));
      server.setRequestHandler(ReadResourceRequestSchema, (r, extra) => this.readResource(scope, r.params, extra));
      server.setRequestHandler(SubscribeRequestSchema, (r, extra) => this.subscribe(scope, r.params, extra));
      server.setRequestHandler(UnsubscribeRequestSchema, (r) => this.unsubscribe(scope, r.params));
    }
    if (capabilities.prompts) {
      server.setRequestHandler(ListPromptsRequestSchema, () => this.listPrompts(scope));
      server.setRequestHandler(GetPromptRequestSchema, (r, extra) => this.getPrompt(scope, r.params, extra));
    }
    if (capabilities.completions) {
      server.setRequestHandler(CompleteRequestSchema, (r, extra) => this.complete(scope, r.params, extra));
    }
    server.setRequestHandler(SetLevelRequestSchema, (r) => this.setLevel(scope, r.params));
    return server;
  }

  listTools(scope: ClientScope): ListToolsResult {
    return { tools: scope.view.tools() };
  }

  callTool(scope: ClientScope, params: CallToolRequest['params'], extra: HandlerExtra): Promise<CallToolResult> {
    return this.toolCalls.callTool(scope, params, extra);
  }

  listResources(scope: ClientScope): ListResourcesResult {
    return { resources: scope.view.resources() };
  }

  listResourceTemplates(scope: ClientScope): ListResourceTemplatesResult {
    return { resourceTemplates: scope.view.resourceTemplates() };
  }

  readResource(
    scope: ClientScope,
    params: ReadResourceRequest['params'],
    extra: HandlerExtra,
  ): Promise<ReadResourceResult> {
    const target = scope.view.resolveUri(params.uri);
    return this.upstream(scope, extra.requestId, extra.signal, 'resource', async () =>
      this.engine.readResource(target.serverId, target.name, {
        signal: AbortSignal.any([extra.signal, scope.signal]),
        origin: extra.origin ?? this.relay.origin(scope, extra.requestId),
        credential: await this.credentials.forServer(target.serverId, scope.principal, target.name),
      }),
    );
  }

  async subscribe(scope: ClientScope, params: SubscribeRequest['params'], extra: HandlerExtra): Promise<EmptyResult> {
    const target = scope.view.resolveUri(params.uri);
    await this.upstream(scope, extra.requestId, extra.signal, 'resource', async () =>
      this.engine.request(
        target.serverId,
        'resources/subscribe',
        { uri: target.name },
        {
          origin: this.relay.origin(scope, extra.requestId),
          credential: await this.credentials.forServer(target.serverId, scope.principal, target.name),
        },
      ),
    );
    await this.sessions.edit(scope, (s) => {
      if (!s.subscriptions.includes(target.name)) s.subscriptions.push(target.name);
    });
    return {};
  }

  async unsubscribe(scope: ClientScope, params: UnsubscribeRequest['params']): Promise<EmptyResult> {
    // The upstream subscription stays: other sessions may hold the same one; updates are filtered per session.
    await this.sessions.edit(scope, (s) => {
      s.subscriptions = s.subscriptions.filter((uri) => uri !== params.uri);
    });
    return {};
  }

  listPrompts(scope: ClientScope): ListPromptsResult {
    return { prompts: scope.view.prompts() };
  }

  getPrompt(scope: ClientScope, params: GetPromptRequest['params'], extra: HandlerExtra): Promise<GetPromptResult> {
    const target = scope.view.resolveName(params.name, 'prompt');
    return this.upstream(scope, extra.requestId, extra.signal, 'prompt', async () =>
      this.engine.getPrompt(target.serverId, target.name, params.arguments ?? {}, {
        signal: AbortSignal.any([extra.signal, scope.signal]),
        origin: extra.origin ?? this.relay.origin(scope, extra.requestId),
        credential: await this.credentials.forServer(target.serverId, scope.principal, target.name),
      }),
    );
  }

  complete(scope: ClientScope, params: CompleteRequest['params'], extra: HandlerExtra): Promise<CompleteResult> {
    const ref = params.ref;
    const target =
      ref.type === 'ref/prompt' ? scope.view.resolveName(ref.name, 'prompt') : scope.view.resolveUri(ref.uri);
    const upstreamRef = ref.type === 'ref/prompt' ? { ...ref, name: target.name } : ref;
    return this.upstream(scope, extra.requestId, extra.signal, 'request', async () =>
      this.engine.request(
        target.serverId,
        'completion/complete',
        { ...params, ref: upstreamRef },
        // With the session's origin it may run beside the session's own calls (see `CallOrigin`).
        {
          signal: AbortSignal.any([extra.signal, scope.signal]),
          origin: this.relay.origin(scope, extra.requestId),
          credential: await this.credentials.forServer(target.serverId, scope.principal, target.name),
        },
      ),
    ) as Promise<CompleteResult>;
  }

  async setLevel(scope: ClientScope, params: SetLevelRequest['params']): Promise<EmptyResult> {
    // Upstream log levels are per connection, shared by every session: filter here, per session, instead.
    await this.sessions.edit(scope, (s) => {
      s.logLevel = params.level;
    });
    return {};
  }

  /** Runs an upstream request for a client request: cancellable by the client, errors as JSON-RPC errors. */
  private async upstream<T>(
    scope: ClientScope,
    requestId: RequestId,
    signal: AbortSignal,
    what: 'resource' | 'prompt' | 'request',
    run: () => Promise<T>,
  ): Promise<T> {
    const tracked = this.relay.track(scope, requestId, signal);
    try {
      return await run();
    } catch (error) {
      throw toMcpError(error, what);
    } finally {
      tracked.done();
    }
  }
}
