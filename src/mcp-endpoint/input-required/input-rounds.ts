import { Inject, Injectable, Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { ErrorCode as RpcCode, McpError, type ServerNotification } from '@modelcontextprotocol/sdk/types.js';
import { CLIENT_CAPABILITIES_META_KEY, inputRequired, type ServerContext } from '@modelcontextprotocol/server';
import { randomUUID } from 'node:crypto';
import { MAX_TIMEOUT_MS } from 'src/calls/call.types';
import { APP_CONFIG } from 'src/config/config.module';
import type { AppConfig } from 'src/config/config.schema';
import type { CallOrigin } from 'src/mcp/mcp-engine';
import { CLIENT_CAPABILITY_FOR } from '../client-origin';
import { type BusMessage, McpSessionBus } from '../mcp-session.bus';
import { PendingInput, type RpcError, rpcErrorOf, type Step } from './pending-input';
import { type RoundState, RequestStates } from './request-state';

/** How a call runs for a 2026-07-28 request: with the origin and signal given (the defaults when none is). */
export interface InputCall {
  origin?: CallOrigin;
  signal?: AbortSignal;
  notify?: (notification: ServerNotification) => Promise<void>;
}

/** How long the replica holding a call has to say it got a retry relayed over the bus. */
const ACK_MS = 3000;

interface RemoteWait {
  accepted: () => void;
  settle: (step: Step | { kind: 'error'; error: RpcError }) => void;
}

/**
 * Input-required relaying for 2026-07-28 clients (issue #13, ADR 0006): an upstream (2025 era) asking the client
 * something mid-call answers the client's `tools/call`, `prompts/get` or `resources/read` with `input_required`, and
 * the client's retry (`inputResponses` + the signed `requestState`) resumes the same upstream call, whichever replica
 * it reaches: a retry for a call another replica holds goes there over the session bus (Redis), and the holder's
 * next step comes back the same way. One upstream call for the whole exchange: the call pipeline records it once.
 *
 * A round waits for the client's retry at most `mcp.client.default-timeout` (the state expires then too); an
 * abandoned round cancels the upstream call, recorded as `client-gone`.
 */
@Injectable()
export class InputRounds implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('McpInputRequired');
  /** Calls held by this replica between rounds, by id; each with the timer that gives it up. */
  private readonly held = new Map<string, { call: PendingInput; timer: NodeJS.Timeout }>();
  /** Retries relayed to another replica, waiting for its answer, by correlation id. */
  private readonly remote = new Map<string, RemoteWait>();
  /** Calls of this replica whose retry is being served on another replica: their cancel signal. */
  private readonly served = new Map<string, AbortController>();
  private readonly forwards: boolean;

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly states: RequestStates,
    private readonly bus: McpSessionBus,
  ) {
    this.forwards = config.mcp.endpoint.forwardClientCapabilities;
  }

  onModuleInit(): void {
    this.bus.onMessage((message) => void this.onBus(message));
  }

  onApplicationShutdown(): void {
    for (const { call, timer } of this.held.values()) {
      clearTimeout(timer);
      call.cancel('the gateway is stopping');
    }
    this.held.clear();
  }

  /**
   * Serves one 2026-07-28 request of a method that may need input. `hangUp` fires when the client goes away. A
   * request without `requestState` starts the call (with the relaying origin when the client declared sampling,
   * elicitation or roots, else as any other call); one with a verified state resumes the call it names.
   */
  async serve(
    ctx: ServerContext,
    target: string,
    hangUp: AbortSignal,
    run: (call: InputCall) => Promise<unknown>,
  ): Promise<unknown> {
    const state = ctx.mcpReq.requestState<RoundState>();
    if (state !== undefined) return this.resume(ctx, state, target, hangUp);
    const declared = (ctx.mcpReq.envelope?.[CLIENT_CAPABILITIES_META_KEY as never] ?? {}) as Record<string, unknown>;
    const asks = Object.values(CLIENT_CAPABILITY_FOR).some((c) => declared[c] !== undefined);
    if (!this.forwards || !asks) return run({});
    const call = new PendingInput(declared);
    call.start(() => run({ origin: call, signal: call.signal, notify: (n) => call.sink?.(n) ?? Promise.resolve() }));
    return this.present(await this.step(call, ctx, hangUp), call, target, ctx);
  }

  /**
   * Serves the first request of a call started elsewhere with a `PendingInput` as its origin (the job of a task that
   * asks before it is handed out, tasks/job-tasks.ts): its questions are rounds as above, its retries resume it here.
   */
  async serveStarted(ctx: ServerContext, target: string, hangUp: AbortSignal, call: PendingInput): Promise<unknown> {
    return this.present(await this.step(call, ctx, hangUp), call, target, ctx);
  }

  private async resume(ctx: ServerContext, state: RoundState, target: string, hangUp: AbortSignal): Promise<unknown> {
    if (typeof state !== 'object' || state === null || typeof state.call !== 'string') {
      throw new McpError(RpcCode.InvalidParams, 'Invalid or expired requestState');
    }
    if (state.target !== target) {
      throw new McpError(RpcCode.InvalidParams, 'This requestState belongs to a request for another target');
    }
    const responses = ctx.mcpReq.inputResponses ?? {};
    const held = this.held.get(state.call);
    const step = held
      ? await this.resumeHere(held.call, state.round, responses, ctx, hangUp)
      : await this.resumeElsewhere(state, responses, hangUp);
    return this.present(step, { id: state.call }, target, ctx);
  }

  /** A retry of a call held here: answers go upstream, then what the upstream does next. */
  private async resumeHere(
    call: PendingInput,
    round: number,
    responses: Record<string, unknown>,
    ctx: ServerContext | undefined,
    hangUp: AbortSignal,
  ): Promise<Step> {
    if (call.round !== round || call.busy) {
      throw new McpError(RpcCode.InvalidParams, 'This requestState was answered already: retry with the latest one');
    }
    call.answer(responses); // throws on a malformed response: the round stays open, its timer running
    this.release(call);
    return this.step(call, ctx, hangUp);
  }

  /** Waits for the call's next step while this request is open; a pending round is then held until its retry. */
  private async step(call: PendingInput, ctx: ServerContext | undefined, hangUp: AbortSignal): Promise<Step> {
    const gone = () => call.cancel('the MCP client went away');
    hangUp.addEventListener('abort', gone, { once: true });
    if (hangUp.aborted) gone();
    call.sink = ctx ? (n) => ctx.mcpReq.notify(n) : undefined;
    call.busy = true;
    try {
      const step = await call.next(hangUp);
      if (step.kind === 'input') this.hold(call);
      return step;
    } finally {
      call.busy = false;
      call.sink = undefined;
      hangUp.removeEventListener('abort', gone);
    }
  }

  private hold(call: PendingInput): void {
    const timer = setTimeout(() => {
      this.held.delete(call.id);
      this.logger.debug(`call ${call.id}: no retry within ${this.states.roundTimeoutMs} ms, cancelled upstream`);
      call.cancel('the MCP client did not answer the input request in time');
    }, this.states.roundTimeoutMs);
    timer.unref();
    this.held.set(call.id, { call, timer });
  }

  private release(call: PendingInput): void {
    const held = this.held.get(call.id);
    if (held) clearTimeout(held.timer);
    this.held.delete(call.id);
  }

  /** The step as the client's answer: the result, the error, or `input_required` with a freshly signed state. */
  private async present(step: Step, call: { id: string }, target: string, ctx: ServerContext): Promise<unknown> {
    if (step.kind === 'done') return step.result;
    if (step.kind === 'failed') throw new McpError(step.error.code, step.error.message, step.error.data);
    const requestState = await this.states.mint({ call: call.id, round: step.round, target }, ctx);
    return inputRequired({ inputRequests: step.requests as never, requestState });
  }

  // ------------------------------------------------------------------ retries that reach another replica

  /** Relays the retry to the replica holding the call (Redis bus) and waits for its next step. */
  private async resumeElsewhere(
    state: RoundState,
    responses: Record<string, unknown>,
    hangUp: AbortSignal,
  ): Promise<Step> {
    const reply = randomUUID();
    let accepted = false;
    const outcome = new Promise<Step | { kind: 'error'; error: RpcError }>((settle) =>
      this.remote.set(reply, { accepted: () => (accepted = true), settle }),
    );
    const ack = setTimeout(() => {
      if (!accepted) this.remote.get(reply)?.settle({ kind: 'error', error: NOT_PENDING });
    }, ACK_MS);
    // The holder answers once its call moves on (bounded by the call's timeout); a lost answer is bounded here.
    const cap = setTimeout(() => this.remote.get(reply)?.settle({ kind: 'error', error: NOT_PENDING }), MAX_TIMEOUT_MS);
    cap.unref();
    const gone = () => {
      void this.bus.publish({ kind: 'input-cancel', call: state.call }).catch(() => undefined);
      this.remote
        .get(reply)
        ?.settle({ kind: 'error', error: { code: RpcCode.RequestTimeout, message: 'The MCP client went away' } });
    };
    hangUp.addEventListener('abort', gone, { once: true });
    try {
      await this.bus.publish({ kind: 'input', call: state.call, round: state.round, responses, reply });
      const step = await outcome;
      if (step.kind === 'error') throw new McpError(step.error.code, step.error.message, step.error.data);
      return step;
    } finally {
      clearTimeout(ack);
      clearTimeout(cap);
      hangUp.removeEventListener('abort', gone);
      this.remote.delete(reply);
    }
  }

  private async onBus(message: BusMessage): Promise<void> {
    switch (message.kind) {
      case 'input': {
        const held = this.held.get(message.call);
        if (!held) return; // another replica's call, or no longer pending: the asking replica times out
        const cancel = new AbortController();
        this.served.set(message.call, cancel);
        await this.bus.publish({ kind: 'input-reply', reply: message.reply, accepted: true });
        let answer: Step | { kind: 'error'; error: RpcError };
        try {
          answer = await this.resumeHere(held.call, message.round, message.responses, undefined, cancel.signal);
        } catch (error) {
          answer = { kind: 'error', error: rpcErrorOf(error) };
        } finally {
          this.served.delete(message.call);
        }
        await this.bus.publish({ kind: 'input-reply', reply: message.reply, step: answer });
        return;
      }
      case 'input-reply': {
        const wait = this.remote.get(message.reply);
        if (message.accepted) wait?.accepted();
        if (message.step) wait?.settle(message.step);
        return;
      }
      case 'input-cancel':
        this.served.get(message.call)?.abort(new Error('the MCP client went away'));
        return;
      case 'response':
      case 'cancel':
      case 'notify':
      case 'legacy':
      case 'ended':
        return; // the session relay's (McpSessionRelay)
      case 'task':
      case 'task-update':
      case 'task-update-reply':
        return; // tasks' (TaskInputs)
    }
  }
}

const NOT_PENDING: RpcError = {
  code: RpcCode.InvalidParams,
  message:
    'The call this requestState continues is no longer pending: it ended, its round expired, or the replica holding ' +
    'it cannot be reached',
};
