import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { makeCounterProvider } from '@willsoto/nestjs-prometheus';
import { WEBHOOK_DELIVERIES } from 'src/metrics/metric-names';
import { WebhookDeliveryAttemptEntity, WebhookDeliveryEntity } from './webhook-delivery.entity';
import { WebhookDispatcher } from './webhook-dispatcher';
import { WebhookOutbox } from './webhook-outbox';
import { WebhookRetention } from './webhook-retention';
import { WebhookSecurity } from './webhook-security';
import { WebhookServerEvents } from './webhook-server-events';
import { WebhookEntity } from './webhook.entity';
import { WebhooksController } from './webhooks.controller';
import { WebhooksRepository } from './webhooks.repository';
import { WebhooksService } from './webhooks.service';

/**
 * Webhooks: subscriptions (admin API), the outbox other modules write to in their own transactions
 * (`WebhookOutbox`), server status events, and the delivery worker.
 */
@Module({
  imports: [TypeOrmModule.forFeature([WebhookEntity, WebhookDeliveryEntity, WebhookDeliveryAttemptEntity])],
  controllers: [WebhooksController],
  providers: [
    WebhooksRepository,
    WebhooksService,
    WebhookSecurity,
    WebhookDispatcher,
    WebhookOutbox,
    WebhookServerEvents,
    WebhookRetention,
    makeCounterProvider({
      name: WEBHOOK_DELIVERIES,
      help: 'Webhook delivery attempts by outcome: delivered, retry (failed, to be retried) or failed (gave up)',
      labelNames: ['outcome'],
    }),
  ],
  exports: [WebhookOutbox],
})
export class WebhooksModule {}
