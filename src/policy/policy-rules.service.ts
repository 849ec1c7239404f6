import { Injectable } from '@nestjs/common';
import type { z } from 'zod';
import { AppException } from 'src/common/errors/app.exception';
import { policyRuleSchema, type PolicyRuleConfig } from 'src/config/policy-rule.schema';
import type { PolicyRuleDto, PolicyRuleListDto } from './dto/policy.dto';
import type { PolicyRule } from './policy-evaluator';
import type { PolicyRuleEntity } from './policy-rule.entity';
import {
  DuplicatePolicyRuleError,
  PolicyRulesRepository,
  ruleOfRow,
  type NewPolicyRule,
} from './policy-rules.repository';
import { PolicyService } from './policy.service';

/**
 * The admin API's rules: validated by the schema of `mcp.policy.rules` (an invalid pattern or effect is a 400 and
 * nothing is written), stored in `policy_rules`, and applied on this replica before the answer (the others follow on
 * the NOTIFY of the same transaction). Rules of the configuration file are listed but cannot be changed here.
 */
@Injectable()
export class PolicyRulesService {
  constructor(
    private readonly repository: PolicyRulesRepository,
    private readonly policy: PolicyService,
  ) {}

  list(): PolicyRuleListDto {
    return { rules: this.policy.rules.map(toDto), default_effect: this.policy.defaultEffect };
  }

  get(id: string): PolicyRuleDto {
    const rule = this.policy.rules.find((r) => r.id === id);
    if (!rule) throw AppException.notFound(`Policy rule '${id}'`, { rule: id });
    return toDto(rule);
  }

  async create(body: unknown): Promise<PolicyRuleDto> {
    const rule = parse(body);
    this.assertNotConfig(rule.id);
    let row: PolicyRuleEntity;
    try {
      row = await this.repository.insert(toRow(rule));
    } catch (error) {
      if (error instanceof DuplicatePolicyRuleError) {
        throw AppException.conflict(`Policy rule '${rule.id}' already exists`, { rule: rule.id });
      }
      throw error;
    }
    await this.policy.reload();
    return toDto({ ...ruleOfRow(row), source: 'api' });
  }

  async replace(id: string, body: unknown): Promise<PolicyRuleDto> {
    const withId = isObject(body) && body.id === undefined ? { ...body, id } : body;
    const rule = parse(withId);
    if (rule.id !== id)
      throw AppException.invalid(`The body's id '${rule.id}' is not the path's '${id}'`, { rule: id });
    this.assertNotConfig(id);
    const row = await this.repository.update(toRow(rule));
    if (!row) throw AppException.notFound(`Policy rule '${id}'`, { rule: id });
    await this.policy.reload();
    return toDto({ ...ruleOfRow(row), source: 'api' });
  }

  async remove(id: string): Promise<PolicyRuleDto> {
    this.assertNotConfig(id);
    const row = await this.repository.delete(id);
    if (!row) throw AppException.notFound(`Policy rule '${id}'`, { rule: id });
    await this.policy.reload();
    return toDto({ ...ruleOfRow(row), source: 'api' });
  }

  private assertNotConfig(id: string): void {
    if (this.policy.isConfigRule(id)) {
      throw AppException.conflict(`Policy rule '${id}' is defined in the configuration (mcp.policy.rules)`, {
        rule: id,
      });
    }
  }
}

/** 400 naming every problem, in the envelope's `details.fields` shape (as the DTO validation pipe gives it). */
function parse(body: unknown): PolicyRuleConfig {
  const parsed = policyRuleSchema.safeParse(body);
  if (parsed.success) return parsed.data;
  const fields = problemsOf(parsed.error);
  const summary = fields.map((f) => `${f.field}: ${f.problems.join(', ')}`).join('; ');
  throw AppException.invalid(`Invalid policy rule: ${summary}`, { fields });
}

export function problemsOf(error: z.ZodError): { field: string; problems: string[] }[] {
  const byField = new Map<string, string[]>();
  for (const issue of error.issues) {
    const field = issue.path.join('.') || '(body)';
    byField.set(field, [...(byField.get(field) ?? []), issue.message]);
  }
  return [...byField].map(([field, problems]) => ({ field, problems }));
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function toRow(rule: PolicyRuleConfig): NewPolicyRule {
  return {
    id: rule.id,
    effect: rule.effect,
    server: rule.server,
    tool: rule.tool,
    description: rule.description ?? null,
    when: rule.when ?? null,
    unless: rule.unless ?? null,
  };
}

/** A rule is its own DTO: the rule schema's output (unknown keys dropped) and where it came from. */
function toDto(rule: PolicyRule): PolicyRuleDto {
  return { ...rule };
}
