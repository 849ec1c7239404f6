import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `oauth-user` upstream credentials (ADR 0011): each user's sealed tokens per (principal, server), the gateway's
 * dynamically registered clients, and authorizations in progress (single-use state, browser-bound). Down: all go.
 */
export class UpstreamConnections1795797000000 implements MigrationInterface {
  name = 'UpstreamConnections1795797000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE "upstream_connections" (
        "principal_id" varchar(512) NOT NULL,
        "server_id" varchar(64) NOT NULL,
        "issuer" text NOT NULL,
        "client_id" text NOT NULL,
        "scope" text,
        "tokens" bytea NOT NULL,
        "expires_at" timestamptz NOT NULL,
        "created_at" timestamptz NOT NULL DEFAULT now(),
        "refreshed_at" timestamptz,
        CONSTRAINT "pk_upstream_connections" PRIMARY KEY ("principal_id", "server_id")
      )
    `);
    await queryRunner.query(`CREATE INDEX "ix_upstream_connections_server" ON "upstream_connections" ("server_id")`);
    await queryRunner.query(`
      CREATE TABLE "upstream_oauth_clients" (
        "id" varchar(64) NOT NULL,
        "server_id" varchar(64) NOT NULL,
        "issuer" text NOT NULL,
        "redirect_uri" text NOT NULL,
        "client_id" text NOT NULL,
        "client_secret" bytea,
        "created_at" timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT "pk_upstream_oauth_clients" PRIMARY KEY ("id")
      )
    `);
    await queryRunner.query(`
      CREATE TABLE "upstream_authorizations" (
        "state_hash" varchar(64) NOT NULL,
        "link_nonce" varchar(64) NOT NULL,
        "principal_id" varchar(512) NOT NULL,
        "server_id" varchar(64) NOT NULL,
        "browser_hash" varchar(64) NOT NULL,
        "verifier" bytea NOT NULL,
        "redirect_uri" text NOT NULL,
        "issuer" text NOT NULL,
        "client_id" text NOT NULL,
        "expires_at" timestamptz NOT NULL,
        "consumed_at" timestamptz,
        "created_at" timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT "pk_upstream_authorizations" PRIMARY KEY ("state_hash")
      )
    `);
    await queryRunner.query(
      `CREATE UNIQUE INDEX "uq_upstream_authorizations_link" ON "upstream_authorizations" ("link_nonce")`,
    );
    await queryRunner.query(
      `CREATE INDEX "ix_upstream_authorizations_expires" ON "upstream_authorizations" ("expires_at")`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "upstream_authorizations"`);
    await queryRunner.query(`DROP TABLE "upstream_oauth_clients"`);
    await queryRunner.query(`DROP TABLE "upstream_connections"`);
  }
}
