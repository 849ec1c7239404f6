import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The MCP protocol revision a call came in with (`2025-11-25`, `2026-07-28`, ...), for calls through the MCP front
 * door; null for REST calls. Down: the column goes.
 */
export class ExecutionProtocolVersion1795795000000 implements MigrationInterface {
  name = 'ExecutionProtocolVersion1795795000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "executions" ADD "protocol_version" varchar(16)`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "executions" DROP COLUMN "protocol_version"`);
  }
}
