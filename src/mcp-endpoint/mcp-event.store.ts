import { Inject, Injectable, Logger } from '@nestjs/common';
import type { EventStore } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { RedisConnection } from 'src/cache/redis-connection';
import { APP_CONFIG } from 'src/config/config.module';
import type { AppConfig } from 'src/config/config.schema';

/** Events kept per stream: a resuming client gets at most the last ones. */
export const MAX_EVENTS_PER_STREAM = 1000;
/** A stream's events are forgotten this long after its last event (a client away longer starts over). */
export const EVENT_MAX_AGE_MS = 5 * 60_000;
/** How often a resumed stream looks for events written meanwhile (by whichever replica runs the call). */
const FOLLOW_EVERY_MS = 100;

interface StoredEvent {
  seq: string;
  message: JSONRPCMessage;
}

/**
 * The events of the 2025-11-25 event streams of `/mcp` (SEP-1699 resumability), so that a client reconnecting with
 * `Last-Event-ID` gets what it missed on whichever replica it lands: in Redis (one capped, expiring stream per event
 * stream) when configured, else in this process' memory (single instance). While Redis is away, events are kept in
 * memory, as sessions are (McpSessionStore).
 *
 * An event id is `<session>.<stream>.<seq>`; the SDK's transport writes it, `retry` and the priming event. A replay
 * only reads the streams of the session it is asked for (the handler checks the session first).
 */
@Injectable()
export class McpEventStore {
  private readonly logger = new Logger(McpEventStore.name);
  private readonly prefix: string;
  private readonly memory = new Map<string, { events: StoredEvent[]; next: number; touched: number }>();

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly redis: RedisConnection,
  ) {
    this.prefix = `${config.spring.cache.redis.keyPrefix}mcp-events:`;
  }

  /**
   * The SDK `EventStore` of one session's transport. `follow` (ms): after the stored events, a replay keeps waiting
   * that long for new ones, until the stream's response comes (a poll; the client comes back after `retry`).
   */
  forSession(sessionId: string, follow = 0): EventStore {
    return {
      storeEvent: async (streamId, message) =>
        `${sessionId}.${streamId}.${await this.append(sessionId, streamId, message)}`,
      getStreamIdForEventId: (eventId) => Promise.resolve(parse(sessionId, eventId)?.streamId),
      replayEventsAfter: async (lastEventId, { send }) => {
        const at = parse(sessionId, lastEventId);
        if (!at) throw new Error('Last-Event-ID does not belong to this session');
        let after = at.seq;
        const until = Date.now() + follow;
        for (;;) {
          let answered = false;
          for (const event of await this.after(sessionId, at.streamId, after)) {
            after = event.seq;
            // The priming event carries no message: nothing to replay.
            if (!('jsonrpc' in event.message)) continue;
            await send(`${sessionId}.${at.streamId}.${event.seq}`, event.message);
            if ('id' in event.message && ('result' in event.message || 'error' in event.message)) answered = true;
          }
          if (answered || Date.now() >= until) return at.streamId;
          await new Promise((resolve) => setTimeout(resolve, FOLLOW_EVERY_MS));
        }
      },
    };
  }

  private async append(sessionId: string, streamId: string, message: JSONRPCMessage): Promise<string> {
    const client = this.redis.client?.isReady ? this.redis.client : null;
    if (client) {
      try {
        const key = this.key(sessionId, streamId);
        const [id] = (await client
          .multi()
          .xAdd(
            key,
            '*',
            { m: JSON.stringify(message) },
            { TRIM: { strategy: 'MAXLEN', threshold: MAX_EVENTS_PER_STREAM } },
          )
          .pExpire(key, EVENT_MAX_AGE_MS)
          .exec()) as unknown as [string];
        return `r${id}`;
      } catch (error) {
        this.logger.debug(`MCP event store (Redis) failed, keeping the event here: ${(error as Error).message}`);
      }
    }
    const now = Date.now();
    for (const [key, entry] of this.memory) if (entry.touched + EVENT_MAX_AGE_MS <= now) this.memory.delete(key);
    const key = this.key(sessionId, streamId);
    const entry = this.memory.get(key) ?? { events: [], next: 0, touched: now };
    const seq = `m${entry.next++}`;
    entry.events.push({ seq, message });
    if (entry.events.length > MAX_EVENTS_PER_STREAM) entry.events.shift();
    entry.touched = now;
    this.memory.set(key, entry);
    return seq;
  }

  /** The events after `seq` (`r<redis id>` in Redis, `m<n>` in memory), oldest first. */
  private async after(sessionId: string, streamId: string, seq: string): Promise<StoredEvent[]> {
    const key = this.key(sessionId, streamId);
    if (seq.startsWith('r')) {
      const client = this.redis.client?.isReady ? this.redis.client : null;
      if (!client) return [];
      const entries = await client.xRange(key, seq.slice(1), '+');
      return entries
        .filter((e) => e.id !== seq.slice(1))
        .map((e) => ({ seq: `r${e.id}`, message: JSON.parse(String(e.message.m)) as JSONRPCMessage }));
    }
    const n = Number(seq.slice(1));
    return (this.memory.get(key)?.events ?? []).filter((e) => Number(e.seq.slice(1)) > n);
  }

  private key(sessionId: string, streamId: string): string {
    return `${this.prefix}${sessionId}:${streamId}`;
  }
}

/** `<session>.<stream>.<seq>` of this session, or undefined. */
function parse(sessionId: string, eventId: string): { streamId: string; seq: string } | undefined {
  const parts = eventId.split('.');
  if (parts.length !== 3 || parts[0] !== sessionId || !parts[1] || !/^[rm][\d-]+$/.test(parts[2] ?? ''))
    return undefined;
  return { streamId: parts[1], seq: parts[2]! };
}
