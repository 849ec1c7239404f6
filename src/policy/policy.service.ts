import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import type { Counter } from 'prom-client';
import type { Principal } from 'src/auth/principal';
import { AppException } from 'src/common/errors/app.exception';
import { ErrorCode } from 'src/common/errors/error-code';
import { APP_CONFIG } from 'src/config/config.module';
import type { AppConfig } from 'src/config/config.schema';
import { policyRuleSchema } from 'src/config/policy-rule.schema';
import { PgNotifications } from 'src/database/pg-notifications';
import { McpEngine } from 'src/mcp/mcp-engine';
import { MCP_POLICY_DENIALS } from 'src/metrics/metric-names';
import type { PolicyRuleEntity } from './policy-rule.entity';
import { DEFAULT_EFFECT_RULE, PolicyEvaluator, type PolicyDecision, type PolicyRule } from './policy-evaluator';
import { POLICY_CHANNEL, PolicyRulesRepository, ruleOfRow } from './policy-rules.repository';

/** The tool a decision is about: its upstream name and annotations (an MCP `Tool` fits). */
export type PolicyTool = Pick<Tool, 'name' | 'annotations'>;

/**
 * Tool-level policy: the one evaluation behind every list (REST, OpenAPI, the MCP front door) and every call (the
 * pipeline's policy stage), so a tool a caller does not see is a tool it cannot call, and the other way round.
 *
 * Rules come from `mcp.policy.rules` (fixed at start) and from `policy_rules` (the admin API). Every write to that
 * table sends `NOTIFY globalmcp_policy` in its transaction; every replica LISTENs and reloads the table, and reloads
 * again after its LISTEN connection comes back (notices sent meanwhile are lost). Evaluation reads an immutable
 * snapshot, swapped whole on each reload, so a call never sees half of a change.
 */
@Injectable()
export class PolicyService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('Policy');
  private readonly configRules: PolicyRule[];
  private evaluator: PolicyEvaluator;
  private reloading: Promise<void> | undefined;
  private reloadAgain = false;
  private unsubscribe?: () => void;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly repository: PolicyRulesRepository,
    private readonly notifications: PgNotifications,
    @InjectMetric(MCP_POLICY_DENIALS) private readonly denials: Counter<'server' | 'rule'>,
    private readonly engine: McpEngine,
  ) {
    this.configRules = config.mcp.policy.rules.map((rule) => ({ ...rule, source: 'config' as const }));
    this.evaluator = new PolicyEvaluator(this.configRules, config.mcp.policy.defaultEffect);
  }

  async onApplicationBootstrap(): Promise<void> {
    this.unsubscribe = await this.notifications.subscribe(POLICY_CHANNEL, {
      onPayload: () => void this.reload(),
      onReconnected: () => void this.reload(),
    });
    // At start a failure is fatal: serving without the stored deny rules would open what they close.
    await this.load();
    this.engine.on('server.status', ({ serverId }) => this.declareDenials([serverId]));
  }

  onApplicationShutdown(): void {
    this.unsubscribe?.();
  }

  /** Every rule in evaluation order: the configuration's, then the API's oldest first. */
  get rules(): readonly PolicyRule[] {
    return this.evaluator.rules;
  }

  /** No rule can deny anything (no rules, default allow): lists and calls need not ask. */
  get allowsEverything(): boolean {
    return this.evaluator.allowsEverything;
  }

  get defaultEffect(): PolicyDecision['effect'] {
    return this.evaluator.defaultEffect;
  }

  isConfigRule(id: string): boolean {
    return this.configRules.some((r) => r.id === id);
  }

  decide(principal: Principal | undefined, serverId: string, tool: PolicyTool): PolicyDecision {
    return this.evaluator.decide({ principal, serverId, tool });
  }

  /** Whether the caller may see (and so call) the tool: what every list filters with. */
  permits(principal: Principal | undefined, serverId: string, tool: PolicyTool): boolean {
    return this.evaluator.allowsEverything || this.decide(principal, serverId, tool).effect === 'allow';
  }

  /**
   * 403 naming the deciding rule (`details.rule`) when the caller may not call the tool; the denial is counted
   * (`mcp_policy_denials_total{server,rule}`) and logged for the audit trail. A denied call is not an execution:
   * nothing of it is on record in `executions`.
   */
  assertCallAllowed(principal: Principal | undefined, serverId: string, tool: PolicyTool): void {
    if (this.evaluator.allowsEverything) return;
    const decision = this.decide(principal, serverId, tool);
    if (decision.effect === 'allow') return;
    this.denials.inc({ server: serverId, rule: decision.rule });
    this.logger.log(
      `policy denied a call: principal=${principal?.id ?? 'anonymous'} server=${serverId} tool=${tool.name} ` +
        `rule=${decision.rule}`,
    );
    throw refusal(decision.rule, serverId, tool.name);
  }

  /** The same 403 for a read of one tool (`GET /api/tools/{name}`): not a call, so neither counted nor logged. */
  assertVisible(principal: Principal | undefined, serverId: string, tool: PolicyTool): void {
    if (this.evaluator.allowsEverything) return;
    const decision = this.decide(principal, serverId, tool);
    if (decision.effect === 'deny') throw refusal(decision.rule, serverId, tool.name);
  }

  /**
   * Reads the stored rules again and swaps the snapshot. Concurrent requests coalesce: one read runs at a time and
   * one more follows if anything asked meanwhile. A failed read keeps the last rules (and says so).
   */
  async reload(): Promise<void> {
    if (this.reloading) {
      this.reloadAgain = true;
      return this.reloading;
    }
    this.reloading = (async () => {
      do {
        this.reloadAgain = false;
        try {
          await this.load();
        } catch (error) {
          this.logger.error(`could not reload the policy rules, keeping the last ones: ${(error as Error).message}`);
        }
      } while (this.reloadAgain);
    })().finally(() => (this.reloading = undefined));
    return this.reloading;
  }

  /**
   * The denial series each of these servers can have (every deny rule that may apply to it, and the default effect
   * when it denies) at 0, so that `increase()` in alert rules sees the first denial; `inc(0)` keeps existing counts.
   */
  private declareDenials(servers: readonly string[]): void {
    const denying = this.evaluator.rules.filter((rule) => rule.effect === 'deny');
    for (const server of servers) {
      for (const rule of denying) {
        if (rule.server === '*' || rule.server === server) this.denials.inc({ server, rule: rule.id }, 0);
      }
      if (this.evaluator.defaultEffect === 'deny') this.denials.inc({ server, rule: DEFAULT_EFFECT_RULE }, 0);
    }
  }

  private async load(): Promise<void> {
    const rows = await this.repository.listInOrder();
    const apiRules = rows.flatMap((row) => this.fromRow(row));
    this.evaluator = new PolicyEvaluator([...this.configRules, ...apiRules], this.config.mcp.policy.defaultEffect);
    this.declareDenials(this.engine.listServerStates().map((s) => s.id));
  }

  /** A stored rule, checked again (the table can be written by hand); one that no longer parses is left out, loudly. */
  private fromRow(row: PolicyRuleEntity): PolicyRule[] {
    const parsed = policyRuleSchema.safeParse(ruleOfRow(row));
    if (!parsed.success) {
      const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
      this.logger.error(`stored policy rule '${row.id}' is invalid and is not applied: ${problems}`);
      return [];
    }
    return [{ ...parsed.data, source: 'api' }];
  }
}

function refusal(rule: string, serverId: string, toolName: string): AppException {
  return new AppException(
    ErrorCode.AUTHORIZATION_DENIED,
    `Tool '${toolName}' of server '${serverId}' is denied by policy rule '${rule}'`,
    { rule, server_id: serverId, tool: toolName },
  );
}
