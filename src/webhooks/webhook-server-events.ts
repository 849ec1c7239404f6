import {
  Injectable,
  Logger,
  type BeforeApplicationShutdown,
  type OnApplicationShutdown,
  type OnModuleInit,
} from '@nestjs/common';
import { INSTANCE_ID } from 'src/common/instance-id';
import { McpEngine } from 'src/mcp/mcp-engine';
import type { ServerStatusEvent } from 'src/mcp/mcp-engine.events';
import type { WebhookEvent } from './webhook-events';
import { WebhookOutbox } from './webhook-outbox';

/**
 * `server.connected`, `server.disconnected` and `server.error` from the engine's status changes. Each replica runs
 * its own connections, so each reports its own: the payload names the `instance`. There is no other record of a
 * status change, so the outbox row is the event's record (one statement, atomic).
 */
@Injectable()
export class WebhookServerEvents implements OnModuleInit, BeforeApplicationShutdown, OnApplicationShutdown {
  private readonly logger = new Logger('Webhooks');
  private readonly pending = new Set<Promise<void>>();
  private stopping = false;

  constructor(
    private readonly engine: McpEngine,
    private readonly outbox: WebhookOutbox,
  ) {}

  onModuleInit(): void {
    this.engine.on('server.status', (e) => this.onStatus(e));
  }

  /**
   * The gateway's own stop takes every server down; those are not events to report (and the database may already be
   * closing when the engine stops them).
   */
  beforeApplicationShutdown(): void {
    this.stopping = true;
  }

  /** Events written before the stop began finish before the database closes. */
  async onApplicationShutdown(): Promise<void> {
    await Promise.all([...this.pending]);
  }

  private onStatus(e: ServerStatusEvent): void {
    const event = eventOf(e);
    if (!event || this.stopping) return;
    const write = this.outbox
      .enqueue([
        {
          event,
          occurredAt: new Date(),
          data: {
            server_id: e.serverId,
            status: e.status,
            previous_status: e.previous,
            ...(e.status === 'error' && e.lastError ? { error: e.lastError.slice(0, 1000) } : {}),
            instance: INSTANCE_ID,
          },
        },
      ])
      .then((count) => this.outbox.written(count))
      .catch((error: unknown) =>
        this.logger.warn(`webhook event ${event} of server '${e.serverId}' not written: ${(error as Error).message}`),
      )
      .finally(() => this.pending.delete(write));
    this.pending.add(write);
  }
}

function eventOf(e: ServerStatusEvent): WebhookEvent | undefined {
  if (e.status === 'active') return 'server.connected';
  if (e.status === 'error') return 'server.error';
  return e.previous === 'active' ? 'server.disconnected' : undefined;
}
