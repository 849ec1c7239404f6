import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `api_keys`: keys for `X-API-Key`. Only the SHA-256 of a key is stored (`key_hash`, unique: the lookup index);
 * `prefix` is its first characters, for people to recognise it. `server_ids` NULL means every server.
 */
export class ApiKeys1795769100000 implements MigrationInterface {
  name = 'ApiKeys1795769100000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE "api_keys" (
        "id" uuid NOT NULL,
        "name" varchar(200) NOT NULL,
        "key_hash" varchar(64) NOT NULL,
        "prefix" varchar(16) NOT NULL,
        "scopes" text[] NOT NULL,
        "tier" varchar(32),
        "server_ids" text[],
        "expires_at" timestamptz,
        "last_used_at" timestamptz,
        "created_at" timestamptz NOT NULL DEFAULT now(),
        "revoked_at" timestamptz,
        CONSTRAINT "pk_api_keys" PRIMARY KEY ("id")
      )
    `);
    await queryRunner.query(`CREATE UNIQUE INDEX "uq_api_keys_key_hash" ON "api_keys" ("key_hash")`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX "uq_api_keys_key_hash"`);
    await queryRunner.query(`DROP TABLE "api_keys"`);
  }
}
