import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';

/** A tool result as the executions table and the REST API show it (snake_case, `is_error` always present). */
export interface StoredToolResult {
  content: unknown[];
  structured_content?: Record<string, unknown>;
  is_error: boolean;
}

/** What a finished call returns to its entry point: the MCP result itself, and what the record says of the call. */
export interface ExecutionOutcome {
  executionId: string;
  serverId: string;
  toolName: string;
  result: CallToolResult;
  startedAt: Date;
  completedAt: Date;
  durationMs: number;
}

export function toStoredResult(result: CallToolResult): StoredToolResult {
  return {
    content: result.content ?? [],
    ...(result.structuredContent !== undefined ? { structured_content: result.structuredContent } : {}),
    is_error: result.isError === true,
  };
}

/** The MCP result of a stored one (an idempotent repeat answers the first call's). */
export function fromStoredResult(stored: unknown): CallToolResult {
  const value = (stored ?? {}) as Partial<StoredToolResult>;
  return {
    content: (Array.isArray(value.content) ? value.content : []) as CallToolResult['content'],
    ...(value.structured_content !== undefined ? { structuredContent: value.structured_content } : {}),
    ...(value.is_error === true ? { isError: true } : {}),
  };
}
