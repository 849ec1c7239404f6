import type { JSONRPCMessage, RequestId } from '@modelcontextprotocol/sdk/types.js';
import type { Principal } from 'src/auth/principal';
import type { CatalogView } from './catalog-view';
import type { McpSession } from './mcp-session.store';

/**
 * One HTTP request's (or one legacy SSE connection's) link to its MCP client. Built only by
 * `McpSessions.scope()`: every transport handler gets the same shape.
 */
export interface ClientScope {
  /** Whether the answer is an event stream (progress, log messages and server-to-client requests can go on it). */
  streaming: boolean;
  /** The session id, or a one-off id for a request without a session. */
  sessionId: string;
  session: McpSession | undefined;
  principal: Principal | undefined;
  view: CatalogView;
  /** The MCP revision of a stateless request (2026-07-28); a session's is in its record. */
  protocolVersion?: string;
  /** Fires when the client hangs up (its calls are cancelled upstream). */
  signal: AbortSignal;
  /** To the client: on the stream of `relatedRequestId`, or the session's standalone stream without one. */
  send(message: JSONRPCMessage, relatedRequestId?: RequestId): Promise<void>;
}

/** A standalone stream (Streamable HTTP GET, or a legacy SSE connection) open on this replica. */
export interface OpenStream {
  scope: ClientScope;
  close(): void;
}
