import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { AppException } from 'src/common/errors/app.exception';
import type {
  CreateWebhookDto,
  DeliveryDto,
  DeliveryListDto,
  ListDeliveriesQueryDto,
  WebhookDto,
  WebhookListDto,
} from './dto/webhook.dto';
import type { WebhookDeliveryAttemptEntity } from './webhook-delivery.entity';
import { WebhookEntity } from './webhook.entity';
import { WebhookSecurity } from './webhook-security';
import { WebhooksRepository } from './webhooks.repository';

/** Webhook subscriptions and their delivery log (admin only; the signing secret goes in and never comes out). */
@Injectable()
export class WebhooksService {
  constructor(
    private readonly repository: WebhooksRepository,
    private readonly security: WebhookSecurity,
  ) {}

  async create(dto: CreateWebhookDto): Promise<WebhookDto> {
    await this.security.policy.checkUrl(dto.url, 'url');
    const row = new WebhookEntity();
    row.id = randomUUID();
    row.url = dto.url;
    row.events = [...dto.events];
    row.secret = this.security.seal(dto.secret, row.id);
    row.active = dto.active ?? true;
    return toDto(await this.repository.insert(row));
  }

  async list(): Promise<WebhookListDto> {
    const rows = await this.repository.listAll();
    return { webhooks: rows.map(toDto), total_count: rows.length };
  }

  async get(id: string): Promise<WebhookDto> {
    return toDto(await this.find(id));
  }

  /** Deletes the subscription and its delivery log; pending deliveries are not sent. */
  async remove(id: string): Promise<WebhookDto> {
    const row = await this.find(id);
    if (!(await this.repository.delete(id))) throw AppException.notFound(`Webhook '${id}'`, { webhook_id: id });
    return toDto(row);
  }

  async deliveries(id: string, query: ListDeliveriesQueryDto): Promise<DeliveryListDto> {
    await this.find(id);
    const page = query.page ?? 1;
    const limit = query.limit ?? 50;
    const [rows, total] = await this.repository.listDeliveries(id, query.status, page, limit);
    const attempts = new Map<string, WebhookDeliveryAttemptEntity[]>();
    for (const a of await this.repository.attemptsOf(rows.map((r) => r.id))) {
      const list = attempts.get(a.deliveryId) ?? [];
      list.push(a);
      attempts.set(a.deliveryId, list);
    }
    return {
      deliveries: rows.map((r): DeliveryDto => ({
        id: r.id,
        event: r.event,
        status: r.status,
        attempts: r.attempts,
        next_attempt_at: r.status === 'pending' ? r.nextAttemptAt.toISOString() : null,
        last_status_code: r.lastStatusCode,
        last_error: r.lastError,
        created_at: r.createdAt.toISOString(),
        delivered_at: r.deliveredAt ? r.deliveredAt.toISOString() : null,
        payload: r.payload,
        attempt_log: (attempts.get(r.id) ?? []).map((a) => ({
          attempt: a.attempt,
          attempted_at: a.attemptedAt.toISOString(),
          duration_ms: a.durationMs,
          status_code: a.statusCode,
          error: a.error,
          outcome: a.outcome,
          instance: a.instance,
        })),
      })),
      pagination: { page, limit, total, has_next: page * limit < total },
    };
  }

  private async find(id: string): Promise<WebhookEntity> {
    const row = await this.repository.findById(id);
    if (!row) throw AppException.notFound(`Webhook '${id}'`, { webhook_id: id });
    return row;
  }
}

function toDto(row: WebhookEntity): WebhookDto {
  return {
    id: row.id,
    url: row.url,
    events: row.events,
    active: row.active,
    created_at: row.createdAt.toISOString(),
    updated_at: row.updatedAt.toISOString(),
  };
}
