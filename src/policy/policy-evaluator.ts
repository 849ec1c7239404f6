import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import type { Principal } from 'src/auth/principal';
import { ANNOTATION_HINTS, type PolicyConditions, type PolicyRuleConfig } from 'src/config/policy-rule.schema';
import { compileToolPattern } from './tool-pattern';

export type PolicyEffect = 'allow' | 'deny';

/** Where a rule was defined: the configuration file (read-only through the API) or the admin API (stored). */
export type PolicyRuleSource = 'config' | 'api';

export interface PolicyRule extends PolicyRuleConfig {
  source: PolicyRuleSource;
}

/** The name a decision carries when no rule applied and `mcp.policy.default-effect` decided. */
export const DEFAULT_EFFECT_RULE = 'mcp.policy.default-effect';

/** What a decision is about: who asks, for which tool of which server (its upstream name and annotations). */
export interface PolicySubject {
  principal: Principal | undefined;
  serverId: string;
  tool: Pick<Tool, 'name' | 'annotations'>;
}

export interface PolicyDecision {
  effect: PolicyEffect;
  /** The deciding rule's id, or DEFAULT_EFFECT_RULE. */
  rule: string;
  /** Ids of every rule that applied, in evaluation order (what `explain` shows). */
  matched: string[];
}

/** The MCP specification's defaults of the annotation hints, for a tool that does not set one. */
const HINT_DEFAULTS: Record<(typeof ANNOTATION_HINTS)[number], boolean> = {
  readOnlyHint: false,
  destructiveHint: true,
  idempotentHint: false,
  openWorldHint: true,
};

interface CompiledRule {
  rule: PolicyRule;
  tool: RegExp;
}

/**
 * One immutable set of rules and the evaluation every entry point shares (docs/security.md, "Tool-level policy"):
 * a rule applies when its server and tool pattern match, all its `when` conditions hold and its `unless` conditions
 * do not all hold. Any applying `deny` denies (the first one in order is named); else any applying `allow` allows;
 * else the default effect decides. Order (config rules in file order, then API rules oldest first) only chooses which
 * rule is named: the outcome does not depend on it.
 */
export class PolicyEvaluator {
  private readonly compiled: CompiledRule[];

  constructor(
    readonly rules: readonly PolicyRule[],
    readonly defaultEffect: PolicyEffect,
  ) {
    this.compiled = rules.map((rule) => ({ rule, tool: compileToolPattern(rule.tool) }));
  }

  /** True when the outcome is the same for everyone and every tool: no rule and a default of allow. */
  get allowsEverything(): boolean {
    return this.compiled.length === 0 && this.defaultEffect === 'allow';
  }

  decide(subject: PolicySubject): PolicyDecision {
    if (this.allowsEverything) return { effect: 'allow', rule: DEFAULT_EFFECT_RULE, matched: [] };
    const applying = this.compiled.filter((c) => applies(c, subject)).map((c) => c.rule);
    const matched = applying.map((r) => r.id);
    const deny = applying.find((r) => r.effect === 'deny');
    if (deny) return { effect: 'deny', rule: deny.id, matched };
    const allow = applying.find((r) => r.effect === 'allow');
    if (allow) return { effect: 'allow', rule: allow.id, matched };
    return { effect: this.defaultEffect, rule: DEFAULT_EFFECT_RULE, matched };
  }
}

function applies({ rule, tool }: CompiledRule, subject: PolicySubject): boolean {
  if (rule.server !== '*' && rule.server !== subject.serverId) return false;
  if (!tool.test(subject.tool.name)) return false;
  if (rule.when && !holds(rule.when, subject)) return false;
  return !(rule.unless && holds(rule.unless, subject));
}

/** Every condition given holds (a list condition holds when any of its values does). */
export function holds(conditions: PolicyConditions, { principal, tool }: PolicySubject): boolean {
  const { scopes, claims, api_keys: apiKeys, tiers, annotations } = conditions;
  const needsPrincipal = scopes ?? claims ?? apiKeys ?? tiers;
  if (needsPrincipal && !principal) return false;
  if (scopes && !scopes.some((s) => principal!.scopes.has(s))) return false;
  if (tiers && !tiers.some((t) => t === principal!.tier)) return false;
  if (apiKeys && !(principal!.kind === 'api-key' && apiKeys.some((k) => principal!.id === apiKeyPrincipalId(k)))) {
    return false;
  }
  if (claims) {
    for (const [name, wanted] of Object.entries(claims)) {
      const values = claimValues(principal!.claims?.[name]);
      const any = typeof wanted === 'string' ? [wanted] : wanted;
      if (!any.some((w) => values.includes(w))) return false;
    }
  }
  if (annotations) {
    for (const hint of ANNOTATION_HINTS) {
      const wanted = annotations[hint];
      if (wanted === undefined) continue;
      const actual = tool.annotations?.[hint];
      if ((typeof actual === 'boolean' ? actual : HINT_DEFAULTS[hint]) !== wanted) return false;
    }
  }
  return true;
}

/** The principal id of an API key, whether the rule names it bare (the key's id) or as the principal (`key:<id>`). */
export function apiKeyPrincipalId(key: string): string {
  return key.startsWith('key:') ? key : `key:${key}`;
}

/** A claim as a list of strings: an array's scalar items, or the scalar itself; anything else matches nothing. */
function claimValues(value: unknown): string[] {
  const scalar = (v: unknown): string | undefined =>
    typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : undefined;
  if (Array.isArray(value)) return value.map(scalar).filter((v): v is string => v !== undefined);
  const one = scalar(value);
  return one === undefined ? [] : [one];
}
