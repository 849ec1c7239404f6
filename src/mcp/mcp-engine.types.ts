import type { ClientCapabilities, Implementation, Progress, Tool } from '@modelcontextprotocol/sdk/types.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { AppConfig, ServerEntry } from 'src/config/config.schema';
import type { CatalogCache } from './catalog';
import type { ReapOptions } from './child-reaper';
import type { CallOrigin } from './connection';
import type { CallerCredential } from './credentials/upstream-credentials';
import type { EngineLogger } from './engine-logger';
import type { CrashLoopPolicy } from './restart-policy';

export type McpClientConfig = AppConfig['mcp']['client'];

export interface McpEngineOptions {
  /** `mcp.client` of the configuration. */
  client: McpClientConfig;
  logger?: EngineLogger;
  /** Defaults: 5 crashes within 60 s park a server. */
  crashLoop?: CrashLoopPolicy;
  /** Defaults: 2 s after stdin EOF before SIGTERM, 2 s more before SIGKILL. */
  reap?: ReapOptions;
  /** Bound on spawn + initialize; defaults to the larger of the server's timeout and `client.defaultTimeout`. */
  connectTimeoutMs?: number;
  /** Shared catalog cache (Redis, later); memory only without it. */
  catalogCache?: CatalogCache;
  clientInfo?: Implementation;
  /** Overrides transport creation (InMemoryTransport in unit tests). */
  transportFactory?: (serverId: string, entry: ServerEntry) => Transport;
  /**
   * Start a companion process that kills the children if the gateway dies by `kill -9` (default false; the Nest
   * module turns it on). Without it, stdin EOF still ends well-behaved servers.
   */
  orphanWatchdog?: boolean;
  /** SIGKILL every tracked child from `process.on('exit')` (default true). */
  killChildrenOnExit?: boolean;
  /**
   * Capabilities announced to every upstream (default none). Declaring `sampling`, `elicitation` or `roots` makes
   * upstreams send those requests; they are answered by the `origin` of the call in flight (`CallOptions.origin`).
   */
  clientCapabilities?: ClientCapabilities;
}

export interface CallOptions {
  /** Wins over the server's `timeout` and `client.defaultTimeout`. Covers the wait in the queue. */
  timeoutMs?: number;
  /** Aborting it cancels the call, upstream included (`notifications/cancelled`). */
  signal?: AbortSignal;
  /** Progress notifications of this call. */
  onProgress?: (progress: Progress) => void;
  /** Who asks: the upstream's sampling/elicitation/roots requests during the call go back to it. */
  origin?: CallOrigin;
  /**
   * The caller's credential for a server that acts on behalf of each caller (`credentialFor`): the call runs on that
   * principal's own connection. Required by such servers; ignored by the others.
   */
  credential?: CallerCredential;
}

export interface ToolCallOptions extends CallOptions {
  /** Skip the ajv check (the caller validated already). */
  skipValidation?: boolean;
}

export interface ToolRef {
  serverId: string;
  tool: Tool;
}

/** A call's timeout when the caller names none: the server's `timeout`, else `mcp.client.default-timeout`. */
export function defaultTimeout(entry: ServerEntry, client: McpClientConfig): number {
  return entry.timeout ?? client.defaultTimeout;
}
