import { Injectable, Optional } from '@nestjs/common';
import { McpEngine } from 'src/mcp/mcp-engine';
import { toolAttributes, Tracing } from 'src/tracing/tracing.service';
import type { ResolvedTool } from './tool-resolver';

/**
 * Stage 3, validate: the arguments against the tool's input schema (ajv, compiled once per tool version by the
 * engine's validator): 400 INVALID_PARAMETERS naming the fields. While a server's catalog is not known yet there is
 * nothing to check against, and the upstream decides.
 */
@Injectable()
export class ArgumentValidator {
  constructor(
    private readonly engine: McpEngine,
    @Optional() private readonly tracing: Tracing = Tracing.disabled(),
  ) {}

  check(target: ResolvedTool, args: Record<string, unknown>): void {
    if (!this.tracing.enabled) return this.engine.checkToolCall(target.serverId, target.tool.name, args);
    this.tracing.inStage('validation', toolAttributes(target.serverId, target.tool.name), () =>
      this.engine.checkToolCall(target.serverId, target.tool.name, args),
    );
  }
}
