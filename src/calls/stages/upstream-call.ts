import { Injectable, Optional } from '@nestjs/common';
import { SpanKind } from '@opentelemetry/api';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { CallerCredential } from 'src/mcp/credentials/upstream-credentials';
import { McpEngine } from 'src/mcp/mcp-engine';
import { toolAttributes, Tracing } from 'src/tracing/tracing.service';
import type { CallHooks } from '../call.types';
import type { ResolvedTool } from './tool-resolver';

/**
 * Stage 5, place and run: the engine places the call on a pooled connection of the server (queueing within the
 * call's timeout, or 503 when the server is down) and sends `tools/call`; the signal cancels it upstream. A caller's
 * credential (stage 3b) puts the call on that principal's own connection instead. The
 * arguments were validated by stage 3, so the engine does not check them again.
 */
@Injectable()
export class UpstreamCall {
  constructor(
    private readonly engine: McpEngine,
    @Optional() private readonly tracing: Tracing = Tracing.disabled(),
  ) {}

  run(
    target: ResolvedTool,
    args: Record<string, unknown>,
    timeoutMs: number | undefined,
    hooks: CallHooks,
    credential?: CallerCredential,
  ): Promise<CallToolResult> {
    if (!this.tracing.enabled) return this.send(target, args, timeoutMs, hooks, credential);
    // One span for placement and the call: the engine places and sends in one step (its queue wait is inside).
    return this.tracing.inStage(
      'upstream tools/call',
      toolAttributes(target.serverId, target.tool.name),
      () => this.send(target, args, timeoutMs, hooks, credential),
      SpanKind.CLIENT,
    );
  }

  private send(
    target: ResolvedTool,
    args: Record<string, unknown>,
    timeoutMs: number | undefined,
    hooks: CallHooks,
    credential: CallerCredential | undefined,
  ): Promise<CallToolResult> {
    return this.engine.callTool(target.serverId, target.tool.name, args, {
      timeoutMs,
      signal: hooks.signal,
      onProgress: hooks.onProgress,
      origin: hooks.origin,
      credential,
      skipValidation: true,
    });
  }
}
