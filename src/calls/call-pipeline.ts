import { Injectable, Optional } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { Tracing } from 'src/tracing/tracing.service';
import type { CallHooks, CallOutcome, CallRequest, InputCounting, PreparedCall } from './call.types';
import { ArgumentValidator } from './stages/argument-validator';
import { CallPolicy } from './stages/call-policy';
import { CallRecord, type CallOnRecord } from './stages/call-record';
import { Idempotency } from './stages/idempotency';
import { ToolResolver, type ResolvedTool } from './stages/tool-resolver';
import { UpstreamCall } from './stages/upstream-call';
import { UpstreamCredential } from './stages/upstream-credential';
import type { CallerCredential } from 'src/mcp/credentials/upstream-credentials';

/**
 * The one way a tool call runs, whoever makes it (REST generic and per-server routes, batch steps, jobs, the MCP
 * front door of every protocol revision). Stages, in order:
 *
 *   1. resolve (ToolResolver)       the server and tool: 404 / 409
 *   2. policy (CallPolicy)          scopes and allow-lists: 403
 *   2b. credential (UpstreamCredential) the caller's credential for a server acting on its behalf: 403 / 503
 *   3. validate (ArgumentValidator) the arguments against the input schema: 400
 *   4. idempotency (Idempotency)    a keyed call's running row; a repeat answers the first call's outcome
 *   5. place and run (UpstreamCall) on a pooled connection, within the timeout, cancellable
 *   6. record (CallRecord)          durable before the answer; webhooks in the same transaction
 *
 * It returns the MCP `CallToolResult` with what is on record of the call; each entry point maps that to its own wire
 * format. A call is on record from stage 4 on (keyed calls, jobs, streamed calls, batch steps: as `running` first),
 * so a refusal in stages 1-3 (2b too) leaves nothing behind, except a plain synchronous call or a batch step refused by
 * validation, which is recorded `failed` as an upstream failure would be (what the audit trail has always shown).
 */
@Injectable()
export class CallPipeline {
  constructor(
    private readonly resolver: ToolResolver,
    private readonly policy: CallPolicy,
    private readonly credentials: UpstreamCredential,
    private readonly validator: ArgumentValidator,
    private readonly idempotency: Idempotency,
    private readonly upstream: UpstreamCall,
    private readonly record: CallRecord,
    @Optional() private readonly tracing: Tracing = Tracing.disabled(),
  ) {}

  /** Runs a call to its end and answers once its outcome is on record. */
  async call(request: CallRequest, hooks: CallHooks = {}): Promise<CallOutcome> {
    const target = this.admit(request);
    const credential = await this.credentials.resolve(target, request.principal);
    const call = this.onRecord(request, target);
    hooks.onExecutionId?.(call.id);
    if (call.requestHash !== null) {
      this.validator.check(target, request.arguments);
      const claim = await this.idempotency.claim(call);
      if (!claim.first) return this.idempotency.replay(call.principal, request, call.requestHash, hooks.signal);
      return this.run(call, target, hooks, true, credential);
    }
    // A batch step is `running` on record while it runs: a gateway killed mid-batch leaves rows the sweep of dead
    // processes marks interrupted, rather than steps with no trace.
    if (request.batch) await this.record.begin(call);
    return this.run(call, target, hooks, false, credential);
  }

  /**
   * Stages 1-4 only: the call is checked and its `running` row written, so its id can be handed out before it runs
   * (a job, a call streamed as SSE). A key used before with the same arguments gives the first call instead (no
   * `run`); bad arguments are a 400 before anything is accepted or written.
   */
  async prepare(request: CallRequest): Promise<PreparedCall> {
    const target = this.admit(request);
    this.validator.check(target, request.arguments);
    const credential = await this.credentials.resolve(target, request.principal);
    const call = this.onRecord(request, target);
    const claim = await this.idempotency.claim(call);
    if (!claim.first) {
      const { row } = claim;
      return {
        executionId: row.id,
        serverId: row.serverId,
        toolName: row.toolName,
        startedAt: row.startedAt,
        repeatOf: row.status,
      };
    }
    return {
      executionId: call.id,
      serverId: target.serverId,
      toolName: request.toolName,
      startedAt: call.startedAt,
      run: (hooks) => this.run(call, target, hooks, true, credential),
    };
  }

  /** Stages 1 and 2. */
  private admit(request: CallRequest): ResolvedTool {
    const target = this.resolver.resolve(request.toolName, request.serverId, request.principal);
    this.policy.check(request.principal, target);
    // The request's span names its call; a batch's request has several, named on their stage spans only.
    if (this.tracing.enabled && !request.batch) this.tracing.annotateActive(target.serverId, target.tool.name);
    return target;
  }

  private onRecord(request: CallRequest, target: ResolvedTool): CallOnRecord {
    return {
      id: randomUUID(),
      principal: request.principal?.id ?? 'anonymous',
      request,
      serverId: target.serverId,
      startedAt: new Date(),
      requestHash: this.idempotency.hashOf(request),
    };
  }

  /** Stages 3 (unless done), 5 and 6: from here on every outcome is on record under the call's id. */
  private async run(
    call: CallOnRecord,
    target: ResolvedTool,
    hooks: CallHooks,
    validated: boolean,
    credential: CallerCredential | undefined,
  ): Promise<CallOutcome> {
    const started = performance.now();
    try {
      if (!validated) this.validator.check(target, call.request.arguments);
      const result = await this.upstream.run(target, call.request.arguments, call.request.timeoutMs, hooks, credential);
      const durationMs = elapsed(started);
      const completedAt = new Date();
      await this.record.completed(call, result, completedAt, durationMs, inputRoundsOf(hooks));
      return {
        executionId: call.id,
        serverId: target.serverId,
        toolName: call.request.toolName,
        result,
        startedAt: call.startedAt,
        completedAt,
        durationMs,
      };
    } catch (error) {
      await this.record.failed(call, error, hooks.endReason?.(), elapsed(started), inputRoundsOf(hooks));
      throw error;
    }
  }
}

/** How many times the call waited for its client's input, when its origin counts that (InputCounting). */
function inputRoundsOf(hooks: CallHooks): number {
  const origin = hooks.origin as Partial<InputCounting> | undefined;
  return typeof origin?.inputRounds === 'function' ? origin.inputRounds() : 0;
}

function elapsed(started: number): number {
  return Math.round((performance.now() - started) * 100) / 100;
}
