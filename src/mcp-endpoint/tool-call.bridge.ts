import { Injectable } from '@nestjs/common';
import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
import type {
  CallToolRequest,
  CallToolResult,
  ServerNotification,
  ServerRequest,
} from '@modelcontextprotocol/sdk/types.js';
import { ToolsService } from 'src/tools/tools.service';
import type { ClientScope } from './client-scope';
import { toMcpError } from './mcp-errors';
import { McpSessionRelay } from './mcp-session.relay';

/** What the SDK hands a request handler of a `Server`. */
export type HandlerExtra = RequestHandlerExtra<ServerRequest, ServerNotification>;

/**
 * The one place an MCP `tools/call` meets the call pipeline: resolve the (namespaced) name in the scope's view, run
 * the call cancellable by the client, forward its progress, and answer an MCP result. Every
 * protocol family's handler calls this; nothing else of the front door knows how a tool call runs.
 */
@Injectable()
export class ToolCallBridge {
  constructor(
    private readonly tools: ToolsService,
    private readonly relay: McpSessionRelay,
  ) {}

  async callTool(scope: ClientScope, params: CallToolRequest['params'], extra: HandlerExtra): Promise<CallToolResult> {
    const target = scope.view.resolveName(params.name, 'tool');
    const tracked = this.relay.track(scope, extra.requestId, AbortSignal.any([extra.signal, scope.signal]));
    const token = params._meta?.progressToken;
    // Progress goes out before the result: the transport closes the call's stream once the result is written.
    const progressSent: Promise<void>[] = [];
    try {
      const result = await this.tools.execute({
        name: target.name,
        serverId: target.serverId,
        parameters: params.arguments ?? {},
        allowedServers: scope.principal?.servers ?? undefined,
        principal: scope.principal?.id,
        signal: tracked.signal,
        channel: 'mcp',
        origin: this.relay.origin(scope, extra.requestId),
        onProgress:
          token === undefined
            ? undefined
            : (progress) => {
                progressSent.push(
                  extra
                    .sendNotification({
                      method: 'notifications/progress',
                      params: { ...progress, progressToken: token },
                    })
                    .catch(() => undefined),
                );
              },
      });
      if (progressSent.length > 0) {
        await Promise.all(progressSent);
        // SDK clients settle a response at once but run notification handlers a microtask later: a result read in
        // the same chunk as the last progress would win and drop it (seen with the legacy SSE client). One turn
        // apart, they leave in separate writes.
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
      // The REST result DTO back to an MCP result.
      return {
        content: result.result.content as CallToolResult['content'],
        ...(result.result.structured_content !== undefined
          ? { structuredContent: result.result.structured_content }
          : {}),
        ...(result.result.is_error ? { isError: true } : {}),
      };
    } catch (error) {
      throw toMcpError(error, 'tool');
    } finally {
      tracked.done();
    }
  }
}
