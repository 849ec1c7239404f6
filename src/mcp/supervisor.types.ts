/** What a `ServerSupervisor` reports: its state and its events. */
import type { ServerEntry } from 'src/config/config.schema';
import type { McpConnection } from './connection';

export type ServerStatus = 'active' | 'inactive' | 'error';

export interface ServerState {
  id: string;
  type: ServerEntry['type'];
  enabled: boolean;
  status: ServerStatus;
  /** The server crash-looped and waits for `restartServer` / `upsertServer`. */
  parked: boolean;
  lastError: string | undefined;
  lastErrorAt: Date | undefined;
  /** Respawns/reconnects since the server was (re)started. */
  restarts: number;
  /** When the current stint of availability began (first member up), undefined while down. */
  connectedAt: Date | undefined;
  poolSize: number;
  connected: number;
  inFlight: number;
  /** PIDs of the live children (stdio). */
  pids: number[];
  serverInfo: { name: string; version: string } | undefined;
  protocolVersion: string | undefined;
}

export interface SupervisorEvents {
  status: [status: ServerStatus, previous: ServerStatus, lastError: string | undefined];
  restart: [info: { slot: number; attempt: number; delayMs: number; reason: string }];
  'member-up': [connection: McpConnection];
  'member-down': [connection: McpConnection, reason: string];
  /** A call waits for a member it may share (see `ConnectionPool.place`). */
  'placement-wait': [];
}
