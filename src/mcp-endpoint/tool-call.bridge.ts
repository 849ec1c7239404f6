import { Injectable } from '@nestjs/common';
import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
import type {
  CallToolRequest,
  CallToolResult,
  ServerNotification,
  ServerRequest,
} from '@modelcontextprotocol/sdk/types.js';
import { CallPipeline } from 'src/calls/call-pipeline';
import type { CallRequest } from 'src/calls/call.types';
import type { CallOrigin } from 'src/mcp/mcp-engine';
import type { ClientScope } from './client-scope';
import { toMcpError } from './mcp-errors';
import { McpSessionRelay } from './mcp-session.relay';

/**
 * What the front door's request handlers read of the SDK's per-request context: the request id, its cancellation and
 * a notification related to it. SDK 1 hands `RequestHandlerExtra` (2025 path); the 2026-07-28 path builds this from
 * SDK 2's `ctx.mcpReq` (see stateless-server.ts).
 */
export type HandlerExtra = Pick<
  RequestHandlerExtra<ServerRequest, ServerNotification>,
  'requestId' | 'signal' | 'sendNotification'
> & {
  /** Who answers the upstream's requests to the client; the scope's session by default (2026: InputRounds). */
  origin?: CallOrigin;
};

/**
 * The one place an MCP `tools/call` meets the call pipeline: resolve the (namespaced) name in the scope's view, run
 * the call cancellable by the client, forward its progress, and answer the pipeline's MCP result as it is. Every
 * protocol family's handler calls this; nothing else of the front door knows how a tool call runs.
 */
@Injectable()
export class ToolCallBridge {
  constructor(
    private readonly pipeline: CallPipeline,
    private readonly relay: McpSessionRelay,
  ) {}

  async callTool(scope: ClientScope, params: CallToolRequest['params'], extra: HandlerExtra): Promise<CallToolResult> {
    const request = toolCallRequest(scope, params);
    const tracked = this.relay.track(scope, extra.requestId, AbortSignal.any([extra.signal, scope.signal]));
    const token = params._meta?.progressToken;
    // Progress goes out before the result: the transport closes the call's stream once the result is written.
    const progressSent: Promise<void>[] = [];
    try {
      const outcome = await this.pipeline.call(request, {
        signal: tracked.signal,
        origin: extra.origin ?? this.relay.origin(scope, extra.requestId),
        // The client hanging up, or its notifications/cancelled for this request.
        endReason: () =>
          scope.signal.aborted ? 'client-gone' : tracked.signal.aborted ? 'cancelled-by-caller' : undefined,
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
      return outcome.result;
    } catch (error) {
      throw toMcpError(error, 'tool');
    } finally {
      tracked.done();
    }
  }
}

/**
 * The call pipeline's request for an MCP `tools/call` in a scope: the view's target (a virtual server renames and adds
 * fixed arguments), who calls, and the revision. Shared by the synchronous call above and a task (tasks/job-tasks.ts).
 */
export function toolCallRequest(scope: ClientScope, params: CallToolRequest['params']): CallRequest {
  const target = scope.view.toolCall(params.name, params.arguments ?? {});
  return {
    toolName: target.name,
    serverId: target.serverId,
    arguments: target.arguments,
    ...(target.virtualServerId !== undefined ? { virtualServerId: target.virtualServerId } : {}),
    principal: scope.principal,
    // A legacy session learns its revision at initialize, after its scope was built: read it per call.
    protocolVersion: scope.protocolVersion ?? (scope.session?.protocolVersion || undefined),
    channel: 'mcp',
  };
}
