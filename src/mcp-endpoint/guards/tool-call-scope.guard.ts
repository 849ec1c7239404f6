import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import { isJSONRPCRequest } from '@modelcontextprotocol/sdk/types.js';
import type { FastifyRequest } from 'fastify';
import { insufficientScope } from 'src/auth/auth-errors';
import { missingScopes } from 'src/auth/scopes';
import { bodyItems } from '../transports/http-messages';

/** What changes something: a tool call, and what ends or answers a task (as `POST /api/executions/{id}/cancel`). */
const WRITE_METHODS = new Set(['tools/call', 'tasks/cancel', 'tasks/update']);

/**
 * The MCP routes need `mcp:read` (declared with `@Authenticated`); a body that carries a `tools/call`, `tasks/cancel`
 * or `tasks/update` request needs `mcp:write` too: 403 with the scope challenge. The scope depends on the body, so the route metadata cannot say it.
 * Only well-formed JSON-RPC requests count: a malformed body is refused with 400 by the transport handler.
 */
@Injectable()
export class ToolCallScopeGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    this.check(context.switchToHttp().getRequest<FastifyRequest>());
    return true;
  }

  check(request: Pick<FastifyRequest, 'principal' | 'body'>): void {
    const principal = request.principal;
    if (!principal || request.body === undefined || request.body === null) return;
    if (!bodyItems(request.body).some((m) => isJSONRPCRequest(m) && WRITE_METHODS.has(m.method))) return;
    const missing = missingScopes(principal.scopes, ['mcp:write']);
    if (missing.length > 0) throw insufficientScope(missing);
  }
}
