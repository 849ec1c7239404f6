import type { Notification } from '@modelcontextprotocol/sdk/types.js';
import type { CatalogKind } from './catalog';
import type { CredentialEvent } from './credentials/upstream-credentials';
import type { CallOrigin } from './connection';
import type { EngineErrorCode } from './engine-error';
import type { ServerStatus } from './supervisor';

/** `success`, `tool_error` (an `isError: true` result) or the EngineErrorCode that ended the call. */
export type CallOutcome = 'success' | 'tool_error' | EngineErrorCode;

export interface CallStartedEvent {
  serverId: string;
  /** JSON-RPC method (`tools/call`, `resources/read`, ...). */
  method: string;
  /** Tool name / resource uri / prompt name when there is one. */
  target?: string;
}

export interface CallFinishedEvent extends CallStartedEvent {
  outcome: CallOutcome;
  durationMs: number;
}

export interface ServerStatusEvent {
  serverId: string;
  status: ServerStatus;
  previous: ServerStatus;
  lastError: string | undefined;
}

export interface ServerRestartEvent {
  serverId: string;
  slot: number;
  attempt: number;
  delayMs: number;
  reason: string;
}

export interface QueueDepthEvent {
  depth: number;
  inFlight: number;
}

export interface ServerNotificationEvent {
  serverId: string;
  notification: Notification;
  /** The caller it belongs to, when the connection can tell (see `CallOrigin`). */
  origin?: CallOrigin;
}

export interface CatalogChangedEvent {
  serverId: string;
  kinds: CatalogKind[];
}

/**
 * Events of `McpEngine`, for metrics (`mcp_client_requests_total{server,method,outcome}` from `call.finished`,
 * `mcp_client_request_duration_seconds{server,method}` from its `durationMs`, `mcp_server_status{server}` from
 * `server.status`, restarts from `server.restart`, queue depth from `queue.depth`) and for the notifications stream.
 */
export interface McpEngineEvents {
  'call.started': [CallStartedEvent];
  'call.finished': [CallFinishedEvent];
  'server.status': [ServerStatusEvent];
  'server.restart': [ServerRestartEvent];
  'server.removed': [{ serverId: string }];
  'queue.depth': [QueueDepthEvent];
  /**
   * A call waits for a member of the server's pool it may share: busy members serve calls of another client session
   * that can answer server-to-client requests, or calls that cannot (see `ConnectionPool.place`).
   */
  'placement.wait': [{ serverId: string }];
  /** Every notification an upstream sends (logging, progress without a caller, list_changed, resources/updated...). */
  'server.notification': [ServerNotificationEvent];
  'catalog.changed': [CatalogChangedEvent];
  /** An upstream credential used, obtained, refreshed or refused (the audit trail of ADR 0007; never the token). */
  credential: [CredentialEvent];
}
