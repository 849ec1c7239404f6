import type { Progress } from '@modelcontextprotocol/sdk/types.js';
import type { PlacementKey } from './pool';

/**
 * Who caused a call (an MCP client session of the front door). A request or logging notification the upstream sends
 * while calls are in flight on a session carries no link to any of them on the wire (stdio has no request context).
 * The pool keeps it unambiguous instead (`ConnectionPool.place`): calls of an origin that `answers` share a member
 * only with calls of the same `group`, so a server-to-client request goes to that group (see `route`). A member
 * without an answering call answers `roots/list` with an empty list and refuses the other requests.
 */
export interface CallOrigin extends PlacementKey {
  /** The client session: calls of one session may share a member and answer for each other. */
  readonly group: string;
  /**
   * The session can answer server-to-client requests (its client declared `sampling`, `elicitation` or `roots`). An
   * origin that cannot is placed like a REST call.
   */
  readonly answers: boolean;
  /**
   * What the client declared (`sampling`, `elicitation`, `roots`), when the origin knows it: sent to a 2026-07-28
   * upstream as the call's `clientCapabilities`, so it asks only what this client can answer. Without it, an origin
   * that `answers` is announced with the gateway's forwarded capabilities and refuses what its client cannot answer.
   */
  readonly clientCapabilities?: Readonly<Record<string, unknown>>;
  /**
   * Answers a server-to-client request (`sampling/createMessage`, `elicitation/create`, `roots/list`). `key`: the
   * upstream's own name for it (a 2026-07-28 upstream's `inputRequests` key), which an origin that relays questions as
   * `input_required` keeps when it can, so the client sees the upstream's name.
   */
  request(
    method: string,
    params: Record<string, unknown> | undefined,
    signal: AbortSignal,
    key?: string,
  ): Promise<unknown>;
}

export interface CallOptions {
  timeoutMs: number;
  /**
   * Cancels the call. The SDK keeps its listener on the signal for as long as the signal lives: give each call its own
   * (as the REST layer does), not one long-lived signal for many calls.
   */
  signal?: AbortSignal;
  onProgress?: (progress: Progress) => void;
  /** Server-to-client requests that arrive while this call runs go to its group (see `CallOrigin`). */
  origin?: CallOrigin;
}

/**
 * Where a server-to-client request or a logging notification goes, given the origins of the calls in flight on one
 * connection (with their counts) and how many calls are in flight there: the answering group with calls in flight
 * (placement allows one at most), to its oldest call still in flight: any call of the group reaches the same client
 * session, whose answer comes back by session, not by call, and the first entry of the map costs nothing to find.
 * Without an answering call: the one group whose calls are all that is in flight (its log messages reach it; its
 * refusal names the missing capability). Otherwise `'none'` (nobody to ask) or `'several'` (should not happen:
 * placement keeps answering groups apart; refuse rather than guess).
 */
export function routeOf(origins: ReadonlyMap<CallOrigin, number>, inFlight: number): CallOrigin | 'none' | 'several' {
  let answering: CallOrigin | undefined;
  let group: string | undefined;
  let oneGroup = true;
  let calls = 0;
  for (const [origin, n] of origins) {
    calls += n;
    if (group === undefined) group = origin.group;
    else if (origin.group !== group) oneGroup = false;
    if (!origin.answers) continue;
    if (answering === undefined) answering = origin;
    else if (answering.group !== origin.group) return 'several';
  }
  if (answering) return answering;
  // calls < inFlight: an origin-less call (REST, catalog refresh) is in flight too; it may be the cause.
  if (group !== undefined && oneGroup && calls === inFlight) return origins.keys().next().value!;
  return 'none';
}
