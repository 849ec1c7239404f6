import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import type { Counter } from 'prom-client';
import { INSTANCE_ID } from 'src/common/instance-id';
import { APP_CONFIG } from 'src/config/config.module';
import type { AppConfig } from 'src/config/config.schema';
import { WEBHOOK_DELIVERIES } from 'src/metrics/metric-names';
import type { AttemptOutcome } from './webhook-delivery.entity';
import { retryDelayMs } from './webhook-backoff';
import { WebhookSecurity } from './webhook-security';
import { postJson, type SendResult } from './webhook-sender';
import { DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, signDelivery } from './webhook-signature';
import { WebhooksRepository, type ClaimedDelivery } from './webhooks.repository';

/** Beyond the attempt timeout, how long a claim stays this worker's before another may take the row. */
const LEASE_MARGIN_MS = 30_000;

/**
 * The delivery worker: claims due rows of the outbox (any replica may run one; SKIP LOCKED gives each row to one),
 * sends them signed, and records each attempt: 2xx delivered, anything else retried with exponential backoff until
 * `mcp.webhooks.max-attempts`, then failed. Polls every `poll-interval`; a delivery written by this process wakes it
 * at once.
 */
@Injectable()
export class WebhookDispatcher implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('Webhooks');
  private readonly settings: AppConfig['mcp']['webhooks'];
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private wakeAgain = false;
  private closed = false;

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly repository: WebhooksRepository,
    private readonly security: WebhookSecurity,
    @InjectMetric(WEBHOOK_DELIVERIES) private readonly deliveries: Counter<'outcome'>,
  ) {
    this.settings = config.mcp.webhooks;
  }

  onApplicationBootstrap(): void {
    if (this.settings.enabled) this.schedule(0);
  }

  async onApplicationShutdown(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    // Sends in flight finish (bounded by the attempt timeout) and are recorded before the database closes.
    await this.running;
  }

  /** Deliveries were written: look now rather than at the next poll. */
  wake(): void {
    if (!this.settings.enabled || this.closed) return;
    if (this.running) this.wakeAgain = true;
    else this.schedule(0);
  }

  private schedule(delayMs: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.run(), delayMs);
    this.timer.unref();
  }

  private run(): void {
    if (this.running || this.closed) return;
    this.running = this.drain()
      .catch((error: unknown) => this.logger.warn(`webhook delivery pass failed: ${(error as Error).message}`))
      .finally(() => {
        this.running = undefined;
        if (this.closed) return;
        const again = this.wakeAgain;
        this.wakeAgain = false;
        this.schedule(again ? 0 : this.settings.pollInterval);
      });
  }

  /** Claims and sends until nothing more is due (or the process stops). */
  private async drain(): Promise<void> {
    const lease = this.settings.timeout + LEASE_MARGIN_MS;
    while (!this.closed) {
      const claimed = await this.repository.claim(this.settings.batchSize, lease, INSTANCE_ID);
      if (claimed.length === 0) return;
      await Promise.all(claimed.map((delivery) => this.deliver(delivery)));
      if (claimed.length < this.settings.batchSize && !this.wakeAgain) return;
      this.wakeAgain = false;
    }
  }

  private async deliver(delivery: ClaimedDelivery): Promise<void> {
    const attemptedAt = new Date();
    const started = performance.now();
    const result = await this.send(delivery);
    const durationMs = Math.round((performance.now() - started) * 100) / 100;
    const ok = result.statusCode !== undefined && result.statusCode >= 200 && result.statusCode < 300;
    const outcome: AttemptOutcome = ok
      ? 'delivered'
      : delivery.attempt >= this.settings.maxAttempts
        ? 'failed'
        : 'retry';
    const error = ok ? null : (result.error ?? `receiver answered ${result.statusCode}`);
    try {
      const written = await this.repository.finish(delivery, {
        attemptedAt,
        durationMs,
        statusCode: result.statusCode ?? null,
        error,
        outcome,
        instance: INSTANCE_ID,
        retryInMs:
          outcome === 'retry'
            ? retryDelayMs(delivery.attempt, {
                initialMs: this.settings.initialBackoff,
                multiplier: this.settings.backoffMultiplier,
                maxMs: this.settings.maxBackoff,
              })
            : undefined,
      });
      if (!written) return;
    } catch (e) {
      // Not recorded: the lease runs out and the delivery is claimed (and sent) again.
      this.logger.warn(`recording webhook delivery ${delivery.id} failed: ${(e as Error).message}`);
      return;
    }
    this.deliveries.inc({ outcome });
    if (outcome === 'failed')
      this.logger.warn(
        `webhook delivery ${delivery.id} (${delivery.event}) to webhook ${delivery.webhookId} failed after ${delivery.attempt} attempt(s): ${error}`,
      );
  }

  private async send(delivery: ClaimedDelivery): Promise<SendResult> {
    let secret: string;
    let addresses: string[];
    try {
      secret = this.security.open(delivery.secret, delivery.webhookId);
      // Checked again at each attempt: the host may resolve elsewhere than when the webhook was created.
      addresses = await this.security.policy.allowedAddresses(delivery.url, 'url');
    } catch (error) {
      return { error: (error as Error).message.slice(0, 1000) };
    }
    const body = JSON.stringify({
      id: delivery.id,
      event: delivery.event,
      created_at: delivery.createdAt.toISOString(),
      data: delivery.payload,
    });
    const timestamp = String(Math.floor(Date.now() / 1000));
    return postJson(
      new URL(delivery.url),
      addresses,
      body,
      {
        'user-agent': 'globalmcp-webhooks',
        [EVENT_HEADER]: delivery.event,
        [DELIVERY_HEADER]: delivery.id,
        [TIMESTAMP_HEADER]: timestamp,
        [SIGNATURE_HEADER]: signDelivery(secret, timestamp, body),
      },
      this.settings.timeout,
    );
  }
}
