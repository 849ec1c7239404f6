import { classifyInboundRequest } from '@modelcontextprotocol/server';
import type { FastifyRequest } from 'fastify';
import { single } from './http-messages';

/**
 * The protocol families the front door serves, each by its own transport handler:
 * - `streamable-http-2025`: Streamable HTTP of the 2025 revisions (03-26, 06-18, 11-25): `initialize`, sessions
 *   (`Mcp-Session-Id`), server-to-client requests on the call's stream, the GET stream, DELETE;
 * - `stateless-2026-07-28`: the stateless revision (no `initialize`, no session; every request carries
 *   `_meta["io.modelcontextprotocol/protocolVersion"]`, POSTs an `MCP-Protocol-Version` header);
 * - `legacy-http-sse`: the 2024-11-05 HTTP+SSE pair (`GET /sse`, `POST /messages?sessionId=`).
 */
export type ProtocolFamily = 'streamable-http-2025' | 'stateless-2026-07-28' | 'legacy-http-sse';

/** Which front-door URL a request came to (the controller says it; the body says the rest). */
export type McpRoute =
  /** `/mcp` (`view` = `*`) or `/mcp/{server_id}`. */
  | { kind: 'mcp'; view: string }
  /** `GET /sse`. */
  | { kind: 'legacy-open' }
  /** `POST /messages?sessionId=`. */
  | { kind: 'legacy-post'; sessionId: string | undefined };

/** Revisions of the stateless family. */
/** The stateless revision served today; with a second one, the exchange must carry the request's own. */
export const STATELESS_REVISION = '2026-07-28';
export const STATELESS_REVISIONS: ReadonlySet<string> = new Set([STATELESS_REVISION]);

/**
 * The family of one request, by its own content (any replica can classify any request; nothing is looked up):
 * the legacy URLs are legacy. A POST is classified by SDK 2's own body-primary classifier (`classifyInboundRequest`,
 * the rule `createMcpHandler` routes by, so the two never disagree): a request carrying the per-request `_meta`
 * envelope claim, or a 2026-07-28 `MCP-Protocol-Version` header, is 2026-07-28 (an `Mcp-Session-Id` beside it is
 * ignored, as that revision says); an `initialize`, a session's request, a posted answer or notification without the
 * claim, or a body that is not JSON-RPC, is 2025. A GET or DELETE is 2026-07-28 (which answers 405) only when it names that revision and no session.
 */
export function classify(
  route: McpRoute,
  request: Pick<FastifyRequest, 'headers' | 'body'> & { method?: string },
): ProtocolFamily {
  if (route.kind !== 'mcp') return 'legacy-http-sse';
  const version = single(request.headers['mcp-protocol-version']);
  const method = request.method ?? 'POST';
  if (method !== 'POST') {
    const sessionless = single(request.headers['mcp-session-id']) === undefined;
    return sessionless && version !== undefined && STATELESS_REVISIONS.has(version)
      ? 'stateless-2026-07-28'
      : 'streamable-http-2025';
  }
  const outcome = classifyInboundRequest({
    httpMethod: 'POST',
    protocolVersionHeader: version,
    mcpMethodHeader: single(request.headers['mcp-method']),
    mcpNameHeader: single(request.headers['mcp-name']),
    body: request.body ?? undefined,
  });
  // A body that is not JSON-RPC at all gets the 2025 path's refusal (the gateway's 400 envelope), as it always has.
  if (outcome.kind === 'legacy' || (outcome.kind === 'reject' && outcome.rung === 'jsonrpc-shape')) {
    return 'streamable-http-2025';
  }
  return 'stateless-2026-07-28';
}
