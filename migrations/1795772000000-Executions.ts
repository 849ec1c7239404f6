import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `executions`: the audit trail of tool calls. Parameters and results are stored masked and capped (a capped value
 * keeps a text preview and sets its `*_truncated` flag). A row with an `idempotency_key` is unique per principal
 * (the partial unique index is the lock idempotent retries rely on, across replicas).
 */
export class Executions1795772000000 implements MigrationInterface {
  name = 'Executions1795772000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE "executions" (
        "id" uuid NOT NULL,
        "principal" varchar(300) NOT NULL,
        "channel" varchar(8) NOT NULL,
        "server_id" varchar(64) NOT NULL,
        "tool_name" varchar(128) NOT NULL,
        "parameters" jsonb,
        "parameters_truncated" boolean NOT NULL DEFAULT false,
        "result" jsonb,
        "result_truncated" boolean NOT NULL DEFAULT false,
        "status" varchar(16) NOT NULL,
        "error" jsonb,
        "started_at" timestamptz NOT NULL,
        "completed_at" timestamptz,
        "duration_ms" double precision,
        "idempotency_key" varchar(200),
        "request_hash" varchar(64),
        "batch_id" uuid,
        "step_id" varchar(200),
        CONSTRAINT "pk_executions" PRIMARY KEY ("id"),
        CONSTRAINT "chk_executions_channel" CHECK ("channel" IN ('rest', 'mcp')),
        CONSTRAINT "chk_executions_status" CHECK ("status" IN ('running', 'completed', 'failed', 'interrupted'))
      )
    `);
    await queryRunner.query(`CREATE INDEX "idx_executions_started_at" ON "executions" ("started_at" DESC, "id" DESC)`);
    await queryRunner.query(`CREATE INDEX "idx_executions_server_id" ON "executions" ("server_id", "started_at" DESC)`);
    await queryRunner.query(`CREATE INDEX "idx_executions_tool_name" ON "executions" ("tool_name", "started_at" DESC)`);
    await queryRunner.query(`CREATE INDEX "idx_executions_status" ON "executions" ("status", "started_at" DESC)`);
    await queryRunner.query(`CREATE INDEX "idx_executions_principal" ON "executions" ("principal", "started_at" DESC)`);
    await queryRunner.query(
      `CREATE INDEX "idx_executions_batch_id" ON "executions" ("batch_id") WHERE "batch_id" IS NOT NULL`,
    );
    await queryRunner.query(
      `CREATE UNIQUE INDEX "uq_executions_principal_idempotency_key" ON "executions" ("principal", "idempotency_key")
         WHERE "idempotency_key" IS NOT NULL`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX "uq_executions_principal_idempotency_key"`);
    await queryRunner.query(`DROP INDEX "idx_executions_batch_id"`);
    await queryRunner.query(`DROP INDEX "idx_executions_principal"`);
    await queryRunner.query(`DROP INDEX "idx_executions_status"`);
    await queryRunner.query(`DROP INDEX "idx_executions_tool_name"`);
    await queryRunner.query(`DROP INDEX "idx_executions_server_id"`);
    await queryRunner.query(`DROP INDEX "idx_executions_started_at"`);
    await queryRunner.query(`DROP TABLE "executions"`);
  }
}
