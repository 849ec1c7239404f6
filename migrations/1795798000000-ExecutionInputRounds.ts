import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * How many times a call waited for its MCP client's input (issue #13, ADR 0006): the input-required rounds of a
 * 2026-07-28 call, or the times a task went `input_required`; null when it never did (every REST call). Down: the
 * column goes.
 */
export class ExecutionInputRounds1795798000000 implements MigrationInterface {
  name = 'ExecutionInputRounds1795798000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "executions" ADD "input_rounds" integer`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "executions" DROP COLUMN "input_rounds"`);
  }
}
