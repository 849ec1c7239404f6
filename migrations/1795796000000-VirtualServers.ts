import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Virtual servers defined through the API (`/api/virtual-servers`); those of the configuration file are not stored.
 * `definition` holds the members (tools, prompts, resources) as the API takes them (jsonb, validated by the API before
 * it is written). Every write notifies `globalmcp_virtual_servers` so each replica reloads them. Each execution record
 * of a call made through a virtual server names it in `virtual_server_id` (null otherwise; the real server and tool
 * stay in `server_id` and `tool_name`). Down: both go.
 */
export class VirtualServers1795796000000 implements MigrationInterface {
  name = 'VirtualServers1795796000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE "virtual_servers" (
        "id" varchar(64) NOT NULL,
        "name" varchar(200),
        "description" text,
        "definition" jsonb NOT NULL,
        "created_at" timestamptz NOT NULL DEFAULT now(),
        "updated_at" timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT "pk_virtual_servers" PRIMARY KEY ("id")
      )
    `);
    await queryRunner.query(`ALTER TABLE "executions" ADD "virtual_server_id" varchar(64)`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "executions" DROP COLUMN "virtual_server_id"`);
    await queryRunner.query(`DROP TABLE "virtual_servers"`);
  }
}
