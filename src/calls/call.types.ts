import type { Progress } from '@modelcontextprotocol/sdk/types.js';
import type { Principal } from 'src/auth/principal';
import type { ExecutionChannel, ExecutionStatus } from 'src/executions/execution.entity';
import type { ExecutionOutcome } from 'src/executions/stored-result';
import type { CallOrigin } from 'src/mcp/mcp-engine';

/**
 * Why a call that did not complete ended, as its entry point knows it: the caller cancelled it (a job cancel, an MCP
 * `notifications/cancelled`), its client went away, or the gateway is stopping. A call that simply failed has none.
 */
export type CallEndReason = 'cancelled-by-caller' | 'client-gone' | 'gateway-shutdown';

/** The longest timeout a caller may ask for a call (one hour). */
export const MAX_TIMEOUT_MS = 3_600_000;

/** What an entry point hands to the call pipeline: the call, who makes it, and where it came in. */
export interface CallRequest {
  /** The tool's name on its server (the MCP front door has already taken off any namespace prefix). */
  toolName: string;
  /** The server; without one the tool is looked up across the servers the caller may use (404/409). */
  serverId?: string;
  arguments: Record<string, unknown>;
  /** Who calls; undefined on a public route (recorded as `anonymous`, no scope or allow-list applies). */
  principal?: Principal;
  channel: ExecutionChannel;
  timeoutMs?: number;
  /** Per principal: a repeat with the same arguments answers the first call's outcome without calling again. */
  idempotencyKey?: string;
  /** Set for the steps of a batch. */
  batch?: { batchId: string; stepId: string };
  /** The MCP protocol revision the call came in with (MCP front door), for the record. */
  protocolVersion?: string;
  /** The virtual server the call came through (src/virtual-servers), for the record; `serverId` is the real one. */
  virtualServerId?: string;
}

/**
 * A `CallOrigin` that can say how many times the call waited for its MCP client's input (the input-required rounds of
 * a 2026-07-28 call, the times a task was `input_required`): recorded as `input_rounds` when more than none.
 */
export interface InputCounting {
  inputRounds(): number;
}

/** What a running call reports to its entry point, and how the entry point can end it. */
export interface CallHooks {
  /** Aborting it cancels the upstream call (`notifications/cancelled`). */
  signal?: AbortSignal;
  /** Progress notifications of the upstream call. */
  onProgress?: (progress: Progress) => void;
  /** The MCP client session that asks: the upstream's sampling/elicitation/roots requests go back to it. */
  origin?: CallOrigin;
  /** Asked when the call fails: why it ended, when the entry point ended it (recorded instead of `failed`). */
  endReason?: () => CallEndReason | undefined;
  /** Told the call's execution id once it has one (stage 4; a batch step names its record with it). */
  onExecutionId?: (executionId: string) => void;
}

/** A finished call: the MCP result and what is on record of it. */
export type CallOutcome = ExecutionOutcome;

/**
 * A call whose `running` row is on record but that has not run yet (a job, or a sync call streamed as SSE), so its
 * `executionId` can be handed out first. `run` is absent when an idempotency key was used before with the same
 * arguments: `executionId` is then the first call's, and `repeatOf` its status.
 */
export interface PreparedCall {
  executionId: string;
  serverId: string;
  toolName: string;
  startedAt: Date;
  repeatOf?: ExecutionStatus;
  /** Runs the call and records its outcome under `executionId`. */
  run?: (hooks: CallHooks) => Promise<CallOutcome>;
}
