import { ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';
import type { CallOrigin } from './call-origin';

/** One entry of an upstream's `inputRequests` (MCP 2026-07-28 multi-round-trip requests). */
export interface InputRequest {
  method: string;
  params?: Record<string, unknown>;
}

/** What an upstream answers a `tools/call`, `prompts/get` or `resources/read` with when it needs the client first. */
export interface InputRequiredResult {
  resultType: 'input_required';
  inputRequests?: Record<string, InputRequest>;
  requestState?: string;
}

/** Rounds of one call before the gateway gives up on an upstream that keeps asking (the SDK 2 client's default). */
export const MAX_INPUT_ROUNDS = 10;

/** The methods whose results may be `input_required` (the specification's MRTR methods). */
export const INPUT_REQUIRED_METHODS: ReadonlySet<string> = new Set(['tools/call', 'prompts/get', 'resources/read']);

export function isInputRequired(result: unknown): result is InputRequiredResult {
  return (
    typeof result === 'object' &&
    result !== null &&
    (result as { resultType?: unknown }).resultType === 'input_required'
  );
}

/**
 * Puts one round of an upstream's `inputRequests` to the call's origin (issue #13 item 4b: the 2025 session that
 * called, through its server-to-client requests, or a 2026 client's `PendingInput`, which turns them into its own
 * `input_required`), all at once so that they reach the client together, and returns the `inputResponses`. The
 * origin applies its capability checks (a client that did not declare elicitation is not asked: its refusal fails the
 * call). Without an origin that answers (REST, a session that declared nothing) nobody can be asked: the call fails
 * with the same refusal a 2025 upstream gets for a server-to-client request today.
 */
export async function askOrigin(
  requests: Record<string, InputRequest>,
  origin: CallOrigin | undefined,
  signal: AbortSignal,
): Promise<Record<string, unknown>> {
  const entries = Object.entries(requests);
  if (entries.length === 0) return {};
  if (!origin?.answers) {
    const methods = [...new Set(entries.map(([, r]) => r.method))].join(', ');
    throw new McpError(
      ErrorCode.InvalidRequest,
      `The upstream asked for '${methods}' before it can answer: there is no client to ask on this call`,
    );
  }
  const answers = await Promise.all(entries.map(([key, r]) => origin.request(r.method, r.params, signal, key)));
  const responses: Record<string, unknown> = {};
  entries.forEach(([key], i) => (responses[key] = answers[i]));
  return responses;
}
