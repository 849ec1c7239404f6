import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `cancelled`: a call its caller cancelled (POST /api/executions/{id}/cancel, or the job's client went away) is
 * neither a failure of the upstream nor an interruption by a gateway stop. Down: such rows become `failed`, the
 * status they were recorded with before.
 */
export class ExecutionCancelled1795792000000 implements MigrationInterface {
  name = 'ExecutionCancelled1795792000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "executions" DROP CONSTRAINT "chk_executions_status"`);
    await queryRunner.query(
      `ALTER TABLE "executions" ADD CONSTRAINT "chk_executions_status"
         CHECK ("status" IN ('running', 'completed', 'failed', 'interrupted', 'cancelled'))`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`UPDATE "executions" SET "status" = 'failed' WHERE "status" = 'cancelled'`);
    await queryRunner.query(`ALTER TABLE "executions" DROP CONSTRAINT "chk_executions_status"`);
    await queryRunner.query(
      `ALTER TABLE "executions" ADD CONSTRAINT "chk_executions_status"
         CHECK ("status" IN ('running', 'completed', 'failed', 'interrupted'))`,
    );
  }
}
