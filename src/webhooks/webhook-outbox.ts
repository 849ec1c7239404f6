import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { WebhookDispatcher } from './webhook-dispatcher';
import type { OutboxEvent } from './webhook-events';
import { WebhooksRepository } from './webhooks.repository';

/** The write side of webhooks for other modules: events go into the outbox, in the caller's transaction. */
@Injectable()
export class WebhookOutbox {
  constructor(
    private readonly repository: WebhooksRepository,
    private readonly dispatcher: WebhookDispatcher,
  ) {}

  /**
   * Writes the deliveries of `events` (one per interested active subscription) through `manager`, the caller's
   * transaction, so they exist if and only if the record of the event does. Call `written()` after the commit.
   */
  enqueue(events: readonly OutboxEvent[], manager?: EntityManager): Promise<number> {
    return this.repository.enqueue(events, manager);
  }

  /** After the transaction committed `count` deliveries: the worker of this process sends them now. */
  written(count: number): void {
    if (count > 0) this.dispatcher.wake();
  }
}
