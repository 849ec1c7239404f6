import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Tool names up to 512 characters on record: MCP asks for at most 128, but upstreams do not all comply, and a
 * record the database refuses is lost. Down: longer names are cut to 128.
 */
export class ExecutionToolNameLength1795793000000 implements MigrationInterface {
  name = 'ExecutionToolNameLength1795793000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "executions" ALTER COLUMN "tool_name" TYPE varchar(512)`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `ALTER TABLE "executions" ALTER COLUMN "tool_name" TYPE varchar(128) USING left("tool_name", 128)`,
    );
  }
}
