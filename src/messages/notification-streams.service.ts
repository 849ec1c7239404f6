import { Injectable, type MessageEvent, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { Notification } from '@modelcontextprotocol/sdk/types.js';
import type { FastifyInstance } from 'fastify';
import { Observable } from 'rxjs';
import type { ServerNotificationEvent } from 'src/mcp/mcp-engine.events';
import { McpEngine } from 'src/mcp/mcp-engine';
import { ServersService } from 'src/servers/servers.service';

/** A comment line every 15 s keeps proxies from closing an idle stream and lets a dead client be noticed. */
export const HEARTBEAT_INTERVAL_MS = 15_000;

interface StreamSubscriber {
  deliver(notification: Notification): void;
  end(): void;
}

/**
 * Server-Sent Events of the upstreams' notifications. One engine listener for all streams (attached while at least
 * one stream is open, so no listener is left behind and the engine's listener limit is never approached), fanned out
 * per server. A stream ends when its client leaves, its server is removed, or the gateway shuts down.
 */
@Injectable()
export class NotificationStreamsService implements OnModuleInit, OnApplicationShutdown {
  private readonly subscribers = new Map<string, Set<StreamSubscriber>>();
  private attached = false;

  constructor(
    private readonly engine: McpEngine,
    private readonly servers: ServersService,
    private readonly adapterHost: HttpAdapterHost,
  ) {}

  onModuleInit(): void {
    // Fastify lets in-flight requests finish before it closes, and an event stream never finishes by itself: end the
    // streams first, or every open one would hold the shutdown for its whole grace period.
    const fastify = this.adapterHost.httpAdapter?.getInstance<FastifyInstance>();
    fastify?.addHook('preClose', (done) => {
      this.endAll();
      done();
    });
  }

  onApplicationShutdown(): void {
    this.endAll();
  }

  /**
   * The notifications of one server (404 if unknown), as SSE messages: `event` = the method, `id` = a sequence
   * number per stream, `data` = the JSON-RPC notification; a comment every 15 s. Nothing is buffered for a client
   * that is not connected.
   */
  stream(serverId: string): Observable<MessageEvent> {
    this.servers.find(serverId);
    return new Observable<MessageEvent>((subscriber) => {
      let sequence = 0;
      const stream: StreamSubscriber = {
        deliver: (notification) =>
          subscriber.next({
            type: notification.method,
            id: String(++sequence),
            data: { jsonrpc: '2.0', ...notification },
          }),
        end: () => subscriber.complete(),
      };
      this.add(serverId, stream);
      const heartbeat = setInterval(() => subscriber.next({ comment: 'heartbeat' }), HEARTBEAT_INTERVAL_MS);
      return () => {
        clearInterval(heartbeat);
        this.remove(serverId, stream);
      };
    });
  }

  /** Streams open now (all servers). */
  get openStreams(): number {
    let count = 0;
    for (const set of this.subscribers.values()) count += set.size;
    return count;
  }

  private readonly onNotification = ({ serverId, notification }: ServerNotificationEvent): void => {
    for (const stream of this.subscribers.get(serverId) ?? []) stream.deliver(notification);
  };

  private readonly onServerRemoved = ({ serverId }: { serverId: string }): void => {
    for (const stream of [...(this.subscribers.get(serverId) ?? [])]) stream.end();
  };

  private add(serverId: string, stream: StreamSubscriber): void {
    let set = this.subscribers.get(serverId);
    if (!set) this.subscribers.set(serverId, (set = new Set()));
    set.add(stream);
    if (!this.attached) {
      this.engine.on('server.notification', this.onNotification);
      this.engine.on('server.removed', this.onServerRemoved);
      this.attached = true;
    }
  }

  private remove(serverId: string, stream: StreamSubscriber): void {
    const set = this.subscribers.get(serverId);
    set?.delete(stream);
    if (set?.size === 0) this.subscribers.delete(serverId);
    if (this.attached && this.subscribers.size === 0) {
      this.engine.off('server.notification', this.onNotification);
      this.engine.off('server.removed', this.onServerRemoved);
      this.attached = false;
    }
  }

  private endAll(): void {
    for (const set of [...this.subscribers.values()]) for (const stream of [...set]) stream.end();
  }
}
