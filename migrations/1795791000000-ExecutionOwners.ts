import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Which process runs a `running` execution (`executions.owner`), and which processes are alive
 * (`gateway_instances`, a heartbeat per process): rows left running are interrupted only when their owner's
 * heartbeat has stopped, so a replica starting up no longer interrupts the calls another live replica is running.
 */
export class ExecutionOwners1795791000000 implements MigrationInterface {
  name = 'ExecutionOwners1795791000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "executions" ADD COLUMN "owner" varchar(200)`);
    await queryRunner.query(
      `CREATE INDEX "idx_executions_running_owner" ON "executions" ("owner") WHERE "status" = 'running'`,
    );
    await queryRunner.query(`
      CREATE TABLE "gateway_instances" (
        "id" varchar(200) NOT NULL,
        "started_at" timestamptz NOT NULL DEFAULT now(),
        "heartbeat_at" timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT "pk_gateway_instances" PRIMARY KEY ("id")
      )
    `);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "gateway_instances"`);
    await queryRunner.query(`DROP INDEX "idx_executions_running_owner"`);
    await queryRunner.query(`ALTER TABLE "executions" DROP COLUMN "owner"`);
  }
}
