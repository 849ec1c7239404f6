import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * First schema: `mcp_servers`, the MCP servers registered through the API (servers declared in the config file
 * are not stored). Non-secret settings live in `configuration`; environment and header values are encrypted into
 * `secrets`.
 */
export class InitialSchema1795766196973 implements MigrationInterface {
  name = 'InitialSchema1795766196973';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE "mcp_servers" (
        "id" varchar(64) NOT NULL,
        "name" varchar(200) NOT NULL,
        "description" text,
        "type" varchar(16) NOT NULL,
        "configuration" jsonb NOT NULL DEFAULT '{}'::jsonb,
        "secrets" bytea,
        "enabled" boolean NOT NULL DEFAULT true,
        "created_at" timestamptz NOT NULL DEFAULT now(),
        "updated_at" timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT "pk_mcp_servers" PRIMARY KEY ("id"),
        CONSTRAINT "chk_mcp_servers_type" CHECK ("type" IN ('stdio', 'http', 'sse'))
      )
    `);
    await queryRunner.query(`CREATE INDEX "idx_mcp_servers_type" ON "mcp_servers" ("type")`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX "idx_mcp_servers_type"`);
    await queryRunner.query(`DROP TABLE "mcp_servers"`);
  }
}
