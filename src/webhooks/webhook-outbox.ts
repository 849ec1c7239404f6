import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { WebhookDispatcher } from './webhook-dispatcher';
import type { OutboxEvent } from './webhook-events';
import { enqueueStatement, outboxParameter, WebhooksRepository } from './webhooks.repository';

/** The outbox write as part of another module's statement (see `WebhookOutbox.statementFor`). */
export interface OutboxStatement {
  /** A data-modifying CTE body returning one row per delivery written; its parameter is `$n`. */
  sql: string;
  parameter: string;
}

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

  /**
   * The deliveries of `events` as a statement to run inside the caller's own (a CTE with parameter `$n`): the
   * caller's rows and their deliveries are then one atomic statement, one round trip on the hot path.
   */
  statementFor(events: readonly OutboxEvent[], n: number): OutboxStatement {
    return { sql: enqueueStatement(n), parameter: outboxParameter(events) };
  }

  /** After the transaction committed `count` deliveries: the worker of this process sends them now. */
  written(count: number): void {
    if (count > 0) this.dispatcher.wake();
  }
}
