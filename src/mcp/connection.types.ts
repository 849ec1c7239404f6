/** What a `McpConnection` is built with, and the schema type its requests take. */
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { ClientCapabilities, Implementation } from '@modelcontextprotocol/sdk/types.js';
import type { ServerEntry } from 'src/config/config.schema';
import type { ChildReaper, ReapOptions } from './child-reaper';
import type { EngineLogger } from './engine-logger';
import type { RequestHeaders } from './transports/http.transport';

/** The schema an upstream's result is parsed with: anything with `parse` works for the SDK's `request`. */
export type UpstreamResultSchema = Parameters<Client['request']>[1];

export interface ConnectionOptions {
  logger: EngineLogger;
  reaper: ChildReaper;
  reap: ReapOptions;
  /** Bound on the whole connect (spawn + initialize). */
  connectTimeoutMs: number;
  /** Results above this serialized size are refused (bytes). */
  maxResultSize: number;
  clientInfo: Implementation;
  /** Overrides transport creation (in-process servers over InMemoryTransport in tests, embedders). */
  transportFactory?: (serverId: string, entry: ServerEntry) => Transport;
  /** Gateway-wide cap on requests in flight (bounds the listeners a session may legitimately hold). */
  maxInFlight: number;
  /**
   * Capabilities announced to the upstream at initialize (default none). With `sampling`, `elicitation` or `roots`,
   * the upstream's requests of that kind are answered by the `CallOrigin` of the call in flight (see `CallOrigin`).
   */
  clientCapabilities?: ClientCapabilities;
  /** http/sse: headers asked for each request (the upstream credential: a server's token, or one principal's). */
  requestHeaders?: RequestHeaders;
  /** http/sse: the upstream answered 401 to a request that carried `requestHeaders` (drop the credential). */
  onUnauthorized?: () => void;
  /** http: ask `server/discover` first and speak 2026-07-28 to an upstream that offers it (default true; ADR 0012). */
  modernUpstreams?: boolean;
}
