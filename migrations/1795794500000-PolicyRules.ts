import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Tool-level policy rules added through the admin API (`/api/policy/rules`); rules of the configuration file are not
 * stored. `when_conditions` / `unless_conditions` hold the rule's conditions as the API takes them (jsonb, validated
 * by the API before they are written). Every write notifies `globalmcp_policy` so each replica reloads the rules.
 */
export class PolicyRules1795794500000 implements MigrationInterface {
  name = 'PolicyRules1795794500000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE "policy_rules" (
        "id" varchar(64) NOT NULL,
        "effect" varchar(8) NOT NULL,
        "server" varchar(64) NOT NULL DEFAULT '*',
        "tool" varchar(128) NOT NULL DEFAULT '*',
        "description" varchar(500),
        "when_conditions" jsonb,
        "unless_conditions" jsonb,
        "created_at" timestamptz NOT NULL DEFAULT now(),
        "updated_at" timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT "pk_policy_rules" PRIMARY KEY ("id"),
        CONSTRAINT "chk_policy_rules_effect" CHECK ("effect" IN ('allow', 'deny'))
      )
    `);
    // Rules are evaluated oldest first (the order only decides which rule a decision names).
    await queryRunner.query(`CREATE INDEX "idx_policy_rules_created" ON "policy_rules" ("created_at", "id")`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "policy_rules"`);
  }
}
