import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import type { EntityManager, FindOptionsWhere, Repository } from 'typeorm';
import {
  WebhookDeliveryAttemptEntity,
  WebhookDeliveryEntity,
  type AttemptOutcome,
  type DeliveryStatus,
} from './webhook-delivery.entity';
import { WebhookEntity } from './webhook.entity';
import type { OutboxEvent } from './webhook-events';

/** A delivery claimed by this worker, with what it takes to send it. */
export interface ClaimedDelivery {
  id: string;
  webhookId: string;
  event: string;
  payload: Record<string, unknown>;
  /** The attempt this claim is (1-based); also the token that finishing the claim checks. */
  attempt: number;
  createdAt: Date;
  url: string;
  secret: Buffer;
}

export interface AttemptRecord {
  attemptedAt: Date;
  durationMs: number;
  statusCode: number | null;
  error: string | null;
  outcome: AttemptOutcome;
  instance: string;
  /** For `retry`: when the next attempt is due. */
  retryInMs?: number;
}

interface ClaimedRow {
  id: string;
  webhook_id: string;
  event: string;
  payload: Record<string, unknown>;
  attempts: number;
  created_at: Date;
  url: string;
  secret: Buffer;
}

/** Named queries over `webhooks`, the `webhook_deliveries` outbox and `webhook_delivery_attempts`. */
@Injectable()
export class WebhooksRepository {
  constructor(
    @InjectRepository(WebhookEntity) private readonly webhooks: Repository<WebhookEntity>,
    @InjectRepository(WebhookDeliveryEntity) private readonly deliveries: Repository<WebhookDeliveryEntity>,
    @InjectRepository(WebhookDeliveryAttemptEntity)
    private readonly attempts: Repository<WebhookDeliveryAttemptEntity>,
  ) {}

  async insert(row: WebhookEntity): Promise<WebhookEntity> {
    await this.webhooks.insert(row);
    return (await this.findById(row.id))!;
  }

  findById(id: string): Promise<WebhookEntity | null> {
    return this.webhooks.findOneBy({ id });
  }

  listAll(): Promise<WebhookEntity[]> {
    return this.webhooks.find({ order: { createdAt: 'ASC', id: 'ASC' } });
  }

  /** Deletes a subscription and (cascade) its deliveries; false when there was none. */
  async delete(id: string): Promise<boolean> {
    const result = await this.webhooks.delete({ id });
    return (result.affected ?? 0) > 0;
  }

  /**
   * Writes one delivery per event and active subscription wanting it, through `manager` when given (the caller's
   * transaction: the deliveries commit or roll back with the record of the event). The fan-out is one statement
   * against the current subscriptions, so every replica sees the same ones. Returns how many were written.
   */
  async enqueue(events: readonly OutboxEvent[], manager?: EntityManager): Promise<number> {
    if (events.length === 0) return 0;
    // TypeORM answers an INSERT with its RETURNING rows (an UPDATE with [rows, count]).
    const inserted: unknown[] = await (manager ?? this.deliveries.manager).query(enqueueStatement(1), [
      outboxParameter(events),
    ]);
    return inserted.length;
  }

  /**
   * Claims up to `limit` due deliveries for this worker. `FOR UPDATE SKIP LOCKED` lets replicas claim side by side
   * without waiting on or taking each other's rows; the claim itself (attempts + 1, due again only after `leaseMs`)
   * commits at once, so no lock is held while the receiver is called, and a worker that dies mid-send leaves the
   * row to be claimed again when the lease runs out.
   */
  async claim(limit: number, leaseMs: number, instance: string): Promise<ClaimedDelivery[]> {
    const [rows]: [ClaimedRow[], number] = await this.deliveries.query(
      `WITH due AS (
         SELECT id FROM webhook_deliveries
          WHERE status = 'pending' AND next_attempt_at <= now()
          ORDER BY next_attempt_at
          LIMIT $1
          FOR UPDATE SKIP LOCKED
       )
       UPDATE webhook_deliveries d
          SET attempts = d.attempts + 1,
              next_attempt_at = now() + make_interval(secs => $2::double precision / 1000),
              claimed_by = $3
         FROM due, webhooks w
        WHERE d.id = due.id AND w.id = d.webhook_id
      RETURNING d.id, d.webhook_id, d.event, d.payload, d.attempts, d.created_at, w.url, w.secret`,
      [limit, leaseMs, instance],
    );
    return rows.map((r) => ({
      id: r.id,
      webhookId: r.webhook_id,
      event: r.event,
      payload: r.payload,
      attempt: r.attempts,
      createdAt: r.created_at,
      url: r.url,
      secret: r.secret,
    }));
  }

  /**
   * Records an attempt and moves the delivery on (delivered, due again later, or failed), in one statement. Only
   * the holder of the latest claim may: when a lease ran out and another worker claimed the row again, this
   * (late) result is not written. Returns whether it was.
   */
  async finish(delivery: ClaimedDelivery, attempt: AttemptRecord): Promise<boolean> {
    const status: DeliveryStatus =
      attempt.outcome === 'delivered' ? 'delivered' : attempt.outcome === 'failed' ? 'failed' : 'pending';
    const rows: unknown[] = await this.deliveries.query(
      `WITH moved AS (
         UPDATE webhook_deliveries
            SET status = $3::varchar,
                next_attempt_at = CASE WHEN $3::varchar = 'pending'
                                       THEN now() + make_interval(secs => $4::double precision / 1000)
                                       ELSE next_attempt_at END,
                delivered_at = CASE WHEN $3::varchar = 'delivered' THEN now() ELSE NULL END,
                last_status_code = $5,
                last_error = $6
          WHERE id = $1 AND attempts = $2 AND status = 'pending'
         RETURNING id
       )
       INSERT INTO webhook_delivery_attempts
              (delivery_id, attempt, attempted_at, duration_ms, status_code, error, outcome, instance)
       SELECT id, $2, $7, $8, $5, $6, $9, $10 FROM moved
       RETURNING delivery_id`,
      [
        delivery.id,
        delivery.attempt,
        status,
        attempt.retryInMs ?? 0,
        attempt.statusCode,
        attempt.error,
        attempt.attemptedAt,
        attempt.durationMs,
        attempt.outcome,
        attempt.instance,
      ],
    );
    return rows.length === 1;
  }

  /** Deletes delivered and failed deliveries created more than `days` days ago (attempts cascade); returns how many. */
  async deleteFinishedOlderThan(days: number): Promise<number> {
    const [, count]: [unknown[], number] = await this.deliveries.query(
      `DELETE FROM webhook_deliveries WHERE status <> 'pending' AND created_at < now() - make_interval(days => $1)`,
      [days],
    );
    return count;
  }

  async listDeliveries(
    webhookId: string,
    status: DeliveryStatus | undefined,
    page: number,
    limit: number,
  ): Promise<[WebhookDeliveryEntity[], number]> {
    const where: FindOptionsWhere<WebhookDeliveryEntity> = { webhookId };
    if (status !== undefined) where.status = status;
    return this.deliveries.findAndCount({
      where,
      order: { createdAt: 'DESC', id: 'DESC' },
      skip: (page - 1) * limit,
      take: limit,
    });
  }

  async attemptsOf(deliveryIds: readonly string[]): Promise<WebhookDeliveryAttemptEntity[]> {
    if (deliveryIds.length === 0) return [];
    return this.attempts
      .createQueryBuilder('a')
      .where('a.delivery_id IN (:...ids)', { ids: [...deliveryIds] })
      .orderBy('a.delivery_id')
      .addOrderBy('a.attempt')
      .getMany();
  }
}

/**
 * The statement that writes the deliveries of the events in parameter `$n` (see `outboxParameter`), one per event and
 * active subscription wanting it, returning one row per delivery. Other modules may run it as a data-modifying CTE of
 * their own write, so that their record and its deliveries are one statement (atomic, one round trip).
 */
export function enqueueStatement(n: number): string {
  return `INSERT INTO webhook_deliveries (id, webhook_id, event, payload, created_at, next_attempt_at)
       SELECT gen_random_uuid(), w.id, e.event, e.payload, e.occurred_at, now()
         FROM jsonb_to_recordset($${n}::jsonb) AS e(event text, payload jsonb, occurred_at timestamptz)
         JOIN webhooks w ON w.active AND e.event = ANY (w.events)
       RETURNING 1`;
}

/** The events as `enqueueStatement`'s parameter. */
export function outboxParameter(events: readonly OutboxEvent[]): string {
  return JSON.stringify(
    events.map((e) => ({ event: e.event, payload: e.data, occurred_at: e.occurredAt.toISOString() })),
  );
}
