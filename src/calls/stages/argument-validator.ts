import { Injectable } from '@nestjs/common';
import { McpEngine } from 'src/mcp/mcp-engine';
import type { ResolvedTool } from './tool-resolver';

/**
 * Stage 3, validate: the arguments against the tool's input schema (ajv, compiled once per tool version by the
 * engine's validator): 400 INVALID_PARAMETERS naming the fields. While a server's catalog is not known yet there is
 * nothing to check against, and the upstream decides.
 */
@Injectable()
export class ArgumentValidator {
  constructor(private readonly engine: McpEngine) {}

  check(target: ResolvedTool, args: Record<string, unknown>): void {
    this.engine.checkToolCall(target.serverId, target.tool.name, args);
  }
}
