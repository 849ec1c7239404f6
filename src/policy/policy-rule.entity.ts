import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import type { PolicyConditions } from 'src/config/policy-rule.schema';

/** A tool-level policy rule added through the admin API (migration PolicyRules). */
@Entity({ name: 'policy_rules' })
@Index('idx_policy_rules_created', ['createdAt', 'id'])
export class PolicyRuleEntity {
  @PrimaryColumn({ type: 'varchar', length: 64, primaryKeyConstraintName: 'pk_policy_rules' })
  id!: string;

  @Column({ type: 'varchar', length: 8 })
  effect!: 'allow' | 'deny';

  @Column({ type: 'varchar', length: 64, default: '*' })
  server!: string;

  @Column({ type: 'varchar', length: 128, default: '*' })
  tool!: string;

  @Column({ type: 'varchar', length: 500, nullable: true })
  description!: string | null;

  @Column({ name: 'when_conditions', type: 'jsonb', nullable: true })
  when!: PolicyConditions | null;

  @Column({ name: 'unless_conditions', type: 'jsonb', nullable: true })
  unless!: PolicyConditions | null;

  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' })
  createdAt!: Date;

  @Column({ name: 'updated_at', type: 'timestamptz', default: () => 'now()' })
  updatedAt!: Date;
}
