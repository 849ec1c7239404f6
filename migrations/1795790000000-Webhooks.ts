import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Webhooks: subscriptions (`webhooks`, the signing secret sealed with AES-256-GCM), the outbox of deliveries
 * (`webhook_deliveries`, written in the same transaction as the record of the event; claimed by any replica's worker
 * with `FOR UPDATE SKIP LOCKED`) and every attempt made (`webhook_delivery_attempts`).
 */
export class Webhooks1795790000000 implements MigrationInterface {
  name = 'Webhooks1795790000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE "webhooks" (
        "id" uuid NOT NULL,
        "url" varchar(2048) NOT NULL,
        "events" text[] NOT NULL,
        "secret" bytea NOT NULL,
        "active" boolean NOT NULL DEFAULT true,
        "created_at" timestamptz NOT NULL DEFAULT now(),
        "updated_at" timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT "pk_webhooks" PRIMARY KEY ("id")
      )
    `);
    await queryRunner.query(`
      CREATE TABLE "webhook_deliveries" (
        "id" uuid NOT NULL,
        "webhook_id" uuid NOT NULL,
        "event" varchar(64) NOT NULL,
        "payload" jsonb NOT NULL,
        "status" varchar(16) NOT NULL DEFAULT 'pending',
        "attempts" integer NOT NULL DEFAULT 0,
        "next_attempt_at" timestamptz NOT NULL DEFAULT now(),
        "claimed_by" varchar(200),
        "last_status_code" integer,
        "last_error" varchar(1000),
        "created_at" timestamptz NOT NULL DEFAULT now(),
        "delivered_at" timestamptz,
        CONSTRAINT "pk_webhook_deliveries" PRIMARY KEY ("id"),
        CONSTRAINT "fk_webhook_deliveries_webhook" FOREIGN KEY ("webhook_id") REFERENCES "webhooks" ("id")
          ON DELETE CASCADE,
        CONSTRAINT "chk_webhook_deliveries_status" CHECK ("status" IN ('pending', 'delivered', 'failed'))
      )
    `);
    // The worker's claim: due pending rows, oldest first.
    await queryRunner.query(
      `CREATE INDEX "idx_webhook_deliveries_due" ON "webhook_deliveries" ("next_attempt_at") WHERE "status" = 'pending'`,
    );
    await queryRunner.query(
      `CREATE INDEX "idx_webhook_deliveries_webhook" ON "webhook_deliveries" ("webhook_id", "created_at" DESC)`,
    );
    await queryRunner.query(`
      CREATE TABLE "webhook_delivery_attempts" (
        "delivery_id" uuid NOT NULL,
        "attempt" integer NOT NULL,
        "attempted_at" timestamptz NOT NULL,
        "duration_ms" double precision NOT NULL,
        "status_code" integer,
        "error" varchar(1000),
        "outcome" varchar(16) NOT NULL,
        "instance" varchar(200) NOT NULL,
        CONSTRAINT "pk_webhook_delivery_attempts" PRIMARY KEY ("delivery_id", "attempt"),
        CONSTRAINT "fk_webhook_delivery_attempts_delivery" FOREIGN KEY ("delivery_id")
          REFERENCES "webhook_deliveries" ("id") ON DELETE CASCADE,
        CONSTRAINT "chk_webhook_delivery_attempts_outcome" CHECK ("outcome" IN ('delivered', 'retry', 'failed'))
      )
    `);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "webhook_delivery_attempts"`);
    await queryRunner.query(`DROP INDEX "idx_webhook_deliveries_webhook"`);
    await queryRunner.query(`DROP INDEX "idx_webhook_deliveries_due"`);
    await queryRunner.query(`DROP TABLE "webhook_deliveries"`);
    await queryRunner.query(`DROP TABLE "webhooks"`);
  }
}
