/** Events a webhook can subscribe to. */
export const WEBHOOK_EVENTS = [
  'server.connected',
  'server.disconnected',
  'server.error',
  'tool.executed',
  'tool.failed',
] as const;
export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number];

/** One event to fan out to the active subscriptions that want it. */
export interface OutboxEvent {
  event: WebhookEvent;
  /** The `data` of the delivered body. */
  data: Record<string, unknown>;
  occurredAt: Date;
}
