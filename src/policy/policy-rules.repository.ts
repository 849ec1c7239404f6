import { Injectable } from '@nestjs/common';
import { InjectDataSource, InjectRepository } from '@nestjs/typeorm';
import type { DataSource, EntityManager, Repository } from 'typeorm';
import type { PolicyRuleConfig } from 'src/config/policy-rule.schema';
import { PolicyRuleEntity } from './policy-rule.entity';

/** Channel of the policy's change notices; the payload is the changed rule id (every replica reloads all rules). */
export const POLICY_CHANNEL = 'globalmcp_policy';

export type NewPolicyRule = Omit<PolicyRuleEntity, 'createdAt' | 'updatedAt'>;

/** Thrown by `insert` when the id is taken. */
export class DuplicatePolicyRuleError extends Error {}

/** `policy_rules`: every write notifies the other replicas in the same transaction. */
@Injectable()
export class PolicyRulesRepository {
  constructor(
    @InjectRepository(PolicyRuleEntity) private readonly repository: Repository<PolicyRuleEntity>,
    @InjectDataSource() private readonly dataSource: DataSource,
  ) {}

  /** Oldest first: the evaluation order of API rules. */
  listInOrder(): Promise<PolicyRuleEntity[]> {
    return this.repository.find({ order: { createdAt: 'ASC', id: 'ASC' } });
  }

  async insert(rule: NewPolicyRule): Promise<PolicyRuleEntity> {
    try {
      return await this.dataSource.transaction(async (manager) => {
        const now = new Date();
        const row = manager.create(PolicyRuleEntity, { ...rule, createdAt: now, updatedAt: now });
        await manager.insert(PolicyRuleEntity, row);
        await notify(manager, rule.id);
        return row;
      });
    } catch (error) {
      if ((error as { code?: string }).code === '23505') throw new DuplicatePolicyRuleError(rule.id);
      throw error;
    }
  }

  /** Replaces the rule (keeping its place in the order); null when it does not exist. */
  update(rule: NewPolicyRule): Promise<PolicyRuleEntity | null> {
    return this.dataSource.transaction(async (manager) => {
      const existing = await manager.findOne(PolicyRuleEntity, {
        where: { id: rule.id },
        lock: { mode: 'pessimistic_write' },
      });
      if (!existing) return null;
      const row: PolicyRuleEntity = { ...existing, ...rule, updatedAt: new Date() };
      await manager.save(PolicyRuleEntity, row);
      await notify(manager, rule.id);
      return row;
    });
  }

  /** The deleted rule, or null when it did not exist. */
  delete(id: string): Promise<PolicyRuleEntity | null> {
    return this.dataSource.transaction(async (manager) => {
      const existing = await manager.findOne(PolicyRuleEntity, { where: { id }, lock: { mode: 'pessimistic_write' } });
      if (!existing) return null;
      await manager.delete(PolicyRuleEntity, { id });
      await notify(manager, id);
      return existing;
    });
  }
}

function notify(manager: EntityManager, id: string) {
  return manager.query('SELECT pg_notify($1, $2)', [POLICY_CHANNEL, id]);
}

/** A stored rule in the shape the configuration and the API write it (absent parts left out). */
export function ruleOfRow(row: PolicyRuleEntity): PolicyRuleConfig {
  return {
    id: row.id,
    effect: row.effect,
    server: row.server,
    tool: row.tool,
    ...(row.description !== null ? { description: row.description } : {}),
    ...(row.when ? { when: row.when } : {}),
    ...(row.unless ? { unless: row.unless } : {}),
  };
}
