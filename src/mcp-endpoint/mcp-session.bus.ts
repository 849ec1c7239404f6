import { Inject, Injectable, Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import type { JSONRPCMessage, Notification, RequestId } from '@modelcontextprotocol/sdk/types.js';
import { EventEmitter } from 'node:events';
import { RedisConnection } from 'src/cache/redis-connection';
import { APP_CONFIG } from 'src/config/config.module';
import type { AppConfig } from 'src/config/config.schema';

/** What one replica tells the others about MCP sessions. */
export type BusMessage =
  /** A client's answer to a server-to-client request that a call on another replica waits for. */
  | { kind: 'response'; sessionId: string; message: JSONRPCMessage }
  /** `notifications/cancelled` for a request running on another replica. */
  | { kind: 'cancel'; sessionId: string; requestId: RequestId; reason?: string }
  /** An upstream notification for the sessions that subscribed (`notifications/resources/updated`). */
  | { kind: 'notify'; serverId: string; notification: Notification }
  /** A legacy `/messages` POST for an SSE session held by another replica. */
  | { kind: 'legacy'; sessionId: string; message: JSONRPCMessage }
  /** `DELETE /mcp`: streams of the session on every replica end. */
  | { kind: 'ended'; sessionId: string }
  /** A 2026-07-28 retry (`inputResponses`) for a call another replica holds (InputRounds); `reply` names the answer. */
  | { kind: 'input'; call: string; round: number; responses: Record<string, unknown>; reply: string }
  /** The holder's answer to `input`: first `accepted`, then the call's next step (or the retry's error). */
  | { kind: 'input-reply'; reply: string; accepted?: true; step?: InputStep }
  /** The client of a relayed retry went away: the holder cancels the call. */
  | { kind: 'input-cancel'; call: string }
  /**
   * An MCP task's status changed on the replica running it (tasks/task-inputs.ts): the task as `tasks/get` shows it
   * (a terminal one without its result, which is on record), for `tasks/get` and listen streams on every replica.
   */
  | { kind: 'task'; owner: string; task: { taskId: string; status: string } & Record<string, unknown> }
  /** A `tasks/update` for a task another replica runs; `reply` names the answer. */
  | { kind: 'task-update'; taskId: string; responses: Record<string, unknown>; reply: string }
  /** The answer to `task-update` from the replica running the task: accepted, or why not. */
  | { kind: 'task-update-reply'; reply: string; error?: { code: number; message: string; data?: unknown } };

/** What the holder of a call waiting for input answers a relayed retry with (see input-required/pending-input.ts). */
export type InputStep =
  | { kind: 'done'; result: Record<string, unknown> }
  | { kind: 'failed' | 'error'; error: { code: number; message: string; data?: unknown } }
  | { kind: 'input'; round: number; requests: Record<string, { method: string; params: Record<string, unknown> }> };

/**
 * Cross-replica delivery for MCP sessions: Redis pub/sub on one channel when Redis is configured (every replica
 * hears every message and acts on what it holds), an in-process emitter otherwise. Delivery is best effort, as the
 * HTTP requests it stands for: a replica that dies takes its streams and waiting calls with it.
 */
@Injectable()
export class McpSessionBus implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('McpSessionBus');
  private readonly local = new EventEmitter<{ message: [BusMessage] }>();
  private readonly channel: string;
  private subscriber: NonNullable<RedisConnection['client']> | null = null;

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly redis: RedisConnection,
  ) {
    this.channel = `${config.spring.cache.redis.keyPrefix}mcp-session-bus`;
    this.local.setMaxListeners(0);
  }

  onModuleInit(): void {
    const client = this.redis.client;
    if (!client) return;
    const subscriber = client.duplicate();
    subscriber.on('error', (error: Error) => this.logger.debug(`subscriber: ${error.message}`));
    this.subscriber = subscriber;
    // In the background, like the main connection: Redis being down must never hold the start (the client keeps
    // reconnecting, and re-subscribes when it is back; until then the bus is local to this process).
    subscriber
      .connect()
      .then(() =>
        subscriber.subscribe(this.channel, (raw: string) => {
          try {
            this.local.emit('message', JSON.parse(raw) as BusMessage);
          } catch (error) {
            this.logger.warn(`ignored a malformed bus message: ${(error as Error).message}`);
          }
        }),
      )
      .catch((error: unknown) =>
        this.logger.warn(`Redis pub/sub unavailable, MCP sessions stay on one replica: ${(error as Error).message}`),
      );
  }

  async onApplicationShutdown(): Promise<void> {
    const subscriber = this.subscriber;
    this.subscriber = null;
    if (!subscriber) return;
    if (subscriber.isReady) await subscriber.close().catch(() => undefined);
    else subscriber.destroy();
  }

  /** Handles what any replica (this one included) publishes. */
  onMessage(handler: (message: BusMessage) => void): void {
    this.local.on('message', handler);
  }

  /**
   * To every replica, this one included; to this one only while Redis is unreachable (what another replica holds,
   * a waiting call or a stream, does not hear it: the client sees that call time out or its stream stay quiet).
   */
  async publish(message: BusMessage): Promise<void> {
    const client = this.redis.client;
    if (client?.isReady && this.subscriber?.isReady) {
      try {
        await client.publish(this.channel, JSON.stringify(message));
        return;
      } catch (error) {
        this.logger.debug(`publish failed, delivering on this replica only: ${(error as Error).message}`);
      }
    }
    this.local.emit('message', message);
  }
}
