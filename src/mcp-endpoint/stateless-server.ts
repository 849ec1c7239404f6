import { Inject, Injectable } from '@nestjs/common';
import type { JSONRPCMessage, LoggingLevel, ServerNotification } from '@modelcontextprotocol/sdk/types.js';
import {
  type CacheHint,
  type CacheScope,
  Server,
  type ServerCapabilities,
  type ServerContext,
} from '@modelcontextprotocol/server';
import { AjvJsonSchemaValidator } from '@modelcontextprotocol/server/validators/ajv';
import type { Principal } from 'src/auth/principal';
import { APP_CONFIG } from 'src/config/config.module';
import type { AppConfig } from 'src/config/config.schema';
import type { CatalogView } from './catalog-view';
import { McpServerFactory } from './mcp-server.factory';
import { type InputCall, InputRounds } from './input-required/input-rounds';
import { RequestStates } from './input-required/request-state';
import { McpSessions } from './mcp-sessions.service';
import { JobTasks } from './tasks/job-tasks';
import { TASKS_EXTENSION } from './tasks/task-mapping';
import { TaskServer } from './tasks/task-server';
import type { HandlerExtra } from './tool-call.bridge';
import { modernUrlElicitation } from './url-elicitation';

/** One validator for every per-request SDK 2 `Server` (each would otherwise build its own Ajv; see mcp-server.factory). */
const SHARED_VALIDATOR = new AjvJsonSchemaValidator();

/** What one 2026-07-28 HTTP request is served for: set by the transport handler, read when the SDK asks for a server. */
export interface StatelessExchange {
  principal: Principal | undefined;
  /** `*` or a server id. */
  view: string;
  /** Fires when the client hangs up: its call is cancelled upstream. */
  signal: AbortSignal;
}

/**
 * Builds the SDK 2 `Server` that answers one 2026-07-28 request (ADR 0006). The SDK owns that revision's wire (the
 * `_meta` envelope, the standard headers, `server/discover`, `resultType`, `ttlMs`/`cacheScope`, per-request log
 * level); every method is answered by the same named handlers as on the 2025 path (`McpServerFactory`, whose
 * `tools/call` is the ToolCallBridge onto the call pipeline), over a `ClientScope` without a session.
 */
@Injectable()
export class StatelessServerFactory {
  private readonly listTtl: number;
  private readonly readTtl: number;
  private readonly cacheScope: AppConfig['mcp']['endpoint']['cacheScope'];

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly sessions: McpSessions,
    private readonly handlers: McpServerFactory,
    private readonly rounds: InputRounds,
    private readonly states: RequestStates,
    private readonly tasks: JobTasks,
  ) {
    this.listTtl = config.mcp.endpoint.listTtl;
    this.readTtl = config.mcp.endpoint.readTtl;
    this.cacheScope = config.mcp.endpoint.cacheScope;
  }

  build(exchange: StatelessExchange): Server {
    // One request per exchange (2026-07-28 has no batches): its context is where what the upstream says goes.
    let current: ServerContext | undefined;
    // Progress and log messages go out before the result; the SDK then answers with an event stream.
    const scope = this.sessions.statelessScope(exchange, (message) =>
      current ? toClient(current, message) : Promise.resolve(),
    );
    const { serverInfo, instructions } = this.handlers.presentation(scope.view);
    const base = modernCapabilities(scope.view);
    // The Tasks extension (tasks/job-tasks.ts): a task is one of the gateway's jobs.
    const capabilities = { ...base, extensions: { ...base.extensions, [TASKS_EXTENSION]: {} } };
    const server = new TaskServer(serverInfo, {
      capabilities,
      instructions,
      jsonSchemaValidator: SHARED_VALIDATOR,
      cacheHints: this.cacheHints(exchange.principal),
      // Signed, expiring, bound to the caller (RequestStates): anything else is refused by the SDK with -32602.
      requestState: { verify: this.states.verify },
    });
    const extraOf = (ctx: ServerContext): HandlerExtra => {
      current = ctx;
      return {
        requestId: ctx.mcpReq.id,
        signal: ctx.mcpReq.signal,
        sendNotification: (notification: ServerNotification) => ctx.mcpReq.notify(notification),
      };
    };
    /**
     * A method that may need the client's input (InputRounds): the call runs with the relaying origin, and its own
     * signal (a call waiting between rounds outlives this request; giving it up ends the scope, `client-gone`).
     */
    const withInput = (ctx: ServerContext, target: string, run: (s: typeof scope, e: HandlerExtra) => unknown) =>
      this.rounds.serve(ctx, target, exchange.signal, (call: InputCall) => {
        const extra = extraOf(ctx);
        if (!call.origin || !call.signal) return Promise.resolve(run(scope, extra));
        const held = { ...scope, signal: AbortSignal.any([scope.signal, call.signal]) };
        return Promise.resolve(
          run(held, { ...extra, signal: call.signal, origin: call.origin, sendNotification: call.notify! }),
        );
      }) as never;
    const h = this.handlers;
    // The SDK 2 and SDK 1 schema types describe the same wire shapes; the handlers are typed with SDK 1's.
    server.setRequestHandler('tools/list', () => h.listTools(scope) as never);
    server.setRequestHandler('tools/call', (r, ctx) =>
      this.tasks.servesAsTask(scope, r.params, ctx)
        ? (this.tasks.call(scope, r.params, ctx) as never)
        : withInput(ctx, r.params.name, (s, e) =>
            h.callTool(s, r.params, e).catch((error: unknown) => {
              // An oauth-user refusal: input_required with a URL elicitation (url-elicitation.ts, ADR 0011).
              const modern = modernUrlElicitation(error, ctx);
              if ('answer' in modern) return modern.answer as never;
              throw modern.error;
            }),
          ),
    );
    this.tasks.register(server, exchange.principal);
    if (capabilities.resources) {
      server.setRequestHandler('resources/list', () => h.listResources(scope) as never);
      server.setRequestHandler('resources/templates/list', () => h.listResourceTemplates(scope) as never);
      server.setRequestHandler('resources/read', (r, ctx) =>
        withInput(ctx, r.params.uri, (s, e) => h.readResource(s, r.params, e)),
      );
    }
    if (capabilities.prompts) {
      server.setRequestHandler('prompts/list', () => h.listPrompts(scope) as never);
      server.setRequestHandler('prompts/get', (r, ctx) =>
        withInput(ctx, r.params.name, (s, e) => h.getPrompt(s, r.params, e)),
      );
    }
    if (capabilities.completions) {
      server.setRequestHandler('completion/complete', (r, ctx) => h.complete(scope, r.params, extraOf(ctx)) as never);
    }
    return server;
  }

  /** `ttlMs`/`cacheScope` of the cacheable results (SDK `cacheHints`: it stamps them on the 2026-07-28 wire only). */
  private cacheHints(principal: Principal | undefined): Partial<Record<string, CacheHint>> {
    const cacheScope: CacheScope = this.cacheScope === 'auto' ? (principal ? 'private' : 'public') : this.cacheScope;
    const list: CacheHint = { ttlMs: this.listTtl, cacheScope };
    return {
      'server/discover': list,
      'tools/list': list,
      'prompts/list': list,
      'resources/list': list,
      'resources/templates/list': list,
      'resources/read': { ttlMs: this.readTtl, cacheScope },
    };
  }
}

/**
 * What a 2026-07-28 client is told the view can do. `listChanged` and resource `subscribe` are what
 * `subscriptions/listen` delivers (subscriptions/listen-streams.ts); the SDK's listen router honors a filter only for
 * what is announced here.
 */
export function modernCapabilities(view: CatalogView): ServerCapabilities {
  const announced = view.capabilities();
  return {
    tools: { listChanged: true },
    ...(announced.resources ? { resources: { subscribe: true, listChanged: true } } : {}),
    ...(announced.prompts ? { prompts: { listChanged: true } } : {}),
    ...(announced.completions ? { completions: {} } : {}),
    logging: {},
  };
}

/**
 * A message for the client during its request: progress as it is; an upstream's log message through the SDK's
 * logger, which drops it below the level the request asked for in `_meta` (and all of them when it asked none).
 */
function toClient(ctx: ServerContext, message: JSONRPCMessage): Promise<void> {
  if (!('method' in message) || 'id' in message) return Promise.resolve();
  if (message.method === 'notifications/message') {
    const params = (message.params ?? {}) as { level?: LoggingLevel; data?: unknown; logger?: string };
    return ctx.mcpReq.log(params.level ?? 'info', params.data, params.logger);
  }
  return ctx.mcpReq.notify({ method: message.method, params: message.params });
}
