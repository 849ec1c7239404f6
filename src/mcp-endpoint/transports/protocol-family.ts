import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import type { FastifyRequest } from 'fastify';
import { bodyItems, single } from './http-messages';

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
export const STATELESS_REVISIONS: ReadonlySet<string> = new Set(['2026-07-28']);

/** The `_meta` key that carries the revision of a stateless request. */
export const PROTOCOL_VERSION_META = 'io.modelcontextprotocol/protocolVersion';

/**
 * The family of one request, by its own content (any replica can classify any request; nothing is looked up):
 * the legacy URLs are legacy; a session id or an `initialize` in the body means the 2025 path whatever else the
 * request says; a stateless revision in `MCP-Protocol-Version`, or the per-request `_meta` revision key, means
 * 2026-07-28; everything else (a 2025 request without a session, a GET or DELETE without a session) is 2025, where
 * it gets the 2025 path's answer.
 */
export function classify(route: McpRoute, request: Pick<FastifyRequest, 'headers' | 'body'>): ProtocolFamily {
  if (route.kind !== 'mcp') return 'legacy-http-sse';
  if (single(request.headers['mcp-session-id']) !== undefined) return 'streamable-http-2025';
  const items = request.body === undefined || request.body === null ? [] : bodyItems(request.body);
  if (items.some((m) => isInitializeRequest(m))) return 'streamable-http-2025';
  const version = single(request.headers['mcp-protocol-version']);
  if (version !== undefined && STATELESS_REVISIONS.has(version)) return 'stateless-2026-07-28';
  if (items.some(hasRevisionMeta)) return 'stateless-2026-07-28';
  return 'streamable-http-2025';
}

function hasRevisionMeta(item: unknown): boolean {
  if (item === null || typeof item !== 'object') return false;
  const params = (item as { params?: unknown }).params;
  if (params === null || typeof params !== 'object') return false;
  const meta = (params as { _meta?: unknown })._meta;
  return meta !== null && typeof meta === 'object' && PROTOCOL_VERSION_META in meta;
}
