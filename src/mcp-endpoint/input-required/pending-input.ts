import {
  CreateMessageResultSchema,
  ElicitResultSchema,
  ErrorCode as RpcCode,
  ListRootsResultSchema,
  McpError,
  type ServerNotification,
} from '@modelcontextprotocol/sdk/types.js';
import { randomUUID } from 'node:crypto';
import type { InputCounting } from 'src/calls/call.types';
import type { CallOrigin } from 'src/mcp/mcp-engine';
import { CLIENT_CAPABILITY_FOR } from '../client-origin';

/** One upstream request put to the client as an entry of `inputRequests`. */
interface Ask {
  key: string;
  method: string;
  params: Record<string, unknown>;
  resolve(result: unknown): void;
  reject(error: Error): void;
}

/** A JSON-RPC error as it crosses the bus and the wire. */
export interface RpcError {
  code: number;
  message: string;
  data?: unknown;
}

/** What the client's request (first call or retry) is answered with. */
export type Step =
  | { kind: 'done'; result: Record<string, unknown> }
  | { kind: 'failed'; error: RpcError }
  | { kind: 'input'; round: number; requests: Record<string, { method: string; params: Record<string, unknown> }> };

/** How long the upstream's questions are collected into one round: until none came for `QUIET_MS`, at most `MAX_MS`. */
const QUIET_MS = 20;
const MAX_MS = 250;

/** Each response kind's shape (SDK 1 schemas: what the 2025 upstream validates too). */
const RESULT_SCHEMA = {
  'elicitation/create': ElicitResultSchema,
  'sampling/createMessage': CreateMessageResultSchema,
  'roots/list': ListRootsResultSchema,
} as const;

/**
 * One upstream call of a 2026-07-28 client that may ask the client something (issue #13, ADR 0006): the call's
 * `CallOrigin`. The upstream's sampling/elicitation/roots requests (2025 server-to-client requests) are held, not
 * sent: the client's request is answered with them as `inputRequests`, the upstream request stays open, and the
 * client's retry resolves it with the matching `inputResponses`. Requests for a capability the client did not declare
 * in its envelope are refused to the upstream at once (`roots/list` gets no roots), as on the 2025 path.
 */
export class PendingInput implements CallOrigin, InputCounting {
  readonly id = randomUUID();
  readonly group = `input-${this.id}`;
  /** Placement: this call shares its pooled connection with no other caller (an upstream request is its own). */
  readonly answers = true;
  /** The last round put to the client (its `requestState` names it). */
  round = 0;
  /** Times a task's call went `input_required` after its handle was out (TaskInputs counts them). */
  taskRounds = 0;
  /** A retry is being served (its answers went upstream, its next step is awaited): another one is refused. */
  busy = false;
  /** Where the call's progress goes: the client request being served now (none between rounds). */
  sink: ((notification: ServerNotification) => Promise<void>) | undefined;
  private readonly controller = new AbortController();
  /** Put to the client, not answered yet. */
  private readonly open = new Map<string, Ask>();
  /** Asked by the upstream since the last round. */
  private fresh: Ask[] = [];
  private settled: Step | undefined;
  private wake: (() => void) | undefined;
  private asked = 0;
  /** Every key a question of this call had: never given twice. */
  private readonly usedKeys = new Set<string>();
  /** Told when the questions outstanding change (asked, answered, withdrawn) or the call ends: a task's status. */
  onChange: (() => void) | undefined;

  constructor(private readonly declared: Record<string, unknown>) {}

  /**
   * What the client declared of sampling, elicitation and roots: a 2026-07-28 upstream gets them as the call's
   * capabilities and asks only what this client can answer (as ClientOrigin does for a 2025 session).
   */
  get clientCapabilities(): Readonly<Record<string, unknown>> {
    const declared: Record<string, unknown> = {};
    for (const c of Object.values(CLIENT_CAPABILITY_FOR))
      if (this.declared[c] !== undefined) declared[c] = this.declared[c];
    return declared;
  }

  /** Fires when the call is given up (the client went away or let a round expire): the upstream call is cancelled. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** InputCounting: the rounds put to the client, and the times a task waited for its answers (the record's). */
  inputRounds(): number {
    return this.round + this.taskRounds;
  }

  get finished(): boolean {
    return this.settled !== undefined;
  }

  start(run: () => Promise<unknown>): void {
    run().then(
      (result) => this.settle({ kind: 'done', result: result as Record<string, unknown> }),
      (error: unknown) => this.settle({ kind: 'failed', error: rpcErrorOf(error) }),
    );
  }

  cancel(reason: string): void {
    this.controller.abort(new Error(reason));
  }

  /**
   * `CallOrigin.request`: an upstream's request to the client during this call. The upstream's own key is kept when
   * this call never used it (a key is never reused within a call: a late answer cannot meet a newer question).
   */
  request(
    method: string,
    params: Record<string, unknown> | undefined,
    signal: AbortSignal,
    upstreamKey?: string,
  ): Promise<unknown> {
    const capability = CLIENT_CAPABILITY_FOR[method];
    if (capability === undefined || this.declared[capability] === undefined) {
      if (method === 'roots/list') return Promise.resolve({ roots: [] });
      return Promise.reject(
        new McpError(
          RpcCode.InvalidRequest,
          `The MCP client of this call did not declare the '${capability ?? method}' capability`,
        ),
      );
    }
    return new Promise((resolve, reject) => {
      let key = upstreamKey;
      while (key === undefined || this.usedKeys.has(key)) key = `${capability}-${++this.asked}`;
      this.usedKeys.add(key);
      const ask: Ask = { key, method, params: params ?? {}, resolve, reject };
      signal.addEventListener(
        'abort',
        () => {
          this.fresh = this.fresh.filter((a) => a !== ask);
          this.open.delete(ask.key);
          reject(new McpError(RpcCode.RequestTimeout, 'The upstream cancelled its request'));
          this.onChange?.();
        },
        { once: true },
      );
      this.fresh.push(ask);
      this.wake?.();
      this.onChange?.();
    });
  }

  /**
   * What the client is told next: the call's end, or what the upstream asks (everything asked within a short quiet
   * window goes in one round, so concurrent questions reach the client together), including questions of an earlier
   * round the client has not answered yet. Rejects when `signal` fires first.
   */
  async next(signal: AbortSignal): Promise<Step> {
    if (this.open.size === 0 && this.fresh.length === 0 && !this.settled) {
      await new Promise<void>((resolve, reject) => {
        const onAbort = () => reject(signal.reason as Error);
        if (signal.aborted) return onAbort();
        signal.addEventListener('abort', onAbort, { once: true });
        this.wake = () => {
          signal.removeEventListener('abort', onAbort);
          this.wake = undefined;
          resolve();
        };
      });
    }
    if (this.settled) return this.settled;
    if (this.fresh.length > 0) await this.quiet();
    if (this.settled) return this.settled;
    for (const ask of this.fresh) this.open.set(ask.key, ask);
    this.fresh = [];
    this.round += 1;
    const requests: Record<string, { method: string; params: Record<string, unknown> }> = {};
    for (const ask of this.open.values()) requests[ask.key] = { method: ask.method, params: ask.params };
    return { kind: 'input', round: this.round, requests };
  }

  /**
   * Every question asked and not answered yet, by key, whether or not a round put it to the client already: what a
   * task waiting for input shows in `tasks/get` (a task has no rounds: each question is visible once asked).
   */
  outstanding(): Record<string, { method: string; params: Record<string, unknown> }> {
    const requests: Record<string, { method: string; params: Record<string, unknown> }> = {};
    for (const ask of [...this.open.values(), ...this.fresh])
      requests[ask.key] = { method: ask.method, params: ask.params };
    return requests;
  }

  /**
   * The client's `inputResponses`: each open question it answers goes upstream; keys it did not ask about are ignored,
   * questions it left out stay open (the next step asks them again). A response of the wrong shape fails the retry
   * (-32602) before anything is answered, and the round stays open. `everything`: a task's update, which may answer
   * any outstanding question (those not put in a round yet included).
   */
  answer(responses: Record<string, unknown>, everything = false): void {
    if (everything) {
      for (const ask of this.fresh) this.open.set(ask.key, ask);
      this.fresh = [];
    }
    const accepted: [Ask, unknown][] = [];
    for (const [key, ask] of this.open) {
      if (!(key in responses)) continue;
      const parsed = RESULT_SCHEMA[ask.method as keyof typeof RESULT_SCHEMA].safeParse(responses[key]);
      if (!parsed.success) {
        throw new McpError(RpcCode.InvalidParams, `inputResponses.${key} is not a valid ${ask.method} result`, {
          key,
          issues: parsed.error.issues.slice(0, 5).map((i) => `${i.path.join('.')}: ${i.message}`),
        });
      }
      accepted.push([ask, responses[key]]);
    }
    for (const [ask, response] of accepted) {
      this.open.delete(ask.key);
      ask.resolve(response);
    }
    if (accepted.length > 0) this.onChange?.();
  }

  private settle(step: Step): void {
    this.settled = step;
    for (const ask of [...this.open.values(), ...this.fresh]) {
      ask.reject(new McpError(RpcCode.RequestTimeout, 'The call ended before the client answered'));
    }
    this.open.clear();
    this.fresh = [];
    this.wake?.();
    this.onChange?.();
  }

  /** Waits until no new question came for QUIET_MS (at most MAX_MS), or the call ended. */
  private async quiet(): Promise<void> {
    const until = Date.now() + MAX_MS;
    for (let seen = -1; seen !== this.fresh.length && !this.settled && Date.now() < until;) {
      seen = this.fresh.length;
      await new Promise((resolve) => setTimeout(resolve, QUIET_MS));
    }
  }
}

/** A thrown error as the JSON-RPC error the client gets (the SDK 1 `McpError` message carries its code: taken off). */
export function rpcErrorOf(error: unknown): RpcError {
  if (error instanceof McpError) {
    const message = error.message.replace(/^MCP error -?\d+: /, '');
    return { code: error.code, message, ...(error.data !== undefined ? { data: error.data } : {}) };
  }
  return { code: RpcCode.InternalError, message: error instanceof Error ? error.message : String(error) };
}
