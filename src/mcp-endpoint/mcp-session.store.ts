import { Inject, Injectable, Logger } from '@nestjs/common';
import type { ClientCapabilities, Implementation, LoggingLevel } from '@modelcontextprotocol/sdk/types.js';
import { RedisConnection } from 'src/cache/redis-connection';
import { APP_CONFIG } from 'src/config/config.module';
import type { AppConfig } from 'src/config/config.schema';

/** What a replica needs to serve any request of an MCP session (no upstream connection is tied to a session). */
export interface McpSession {
  id: string;
  /** Principal id of the creator: a session id presented with another credential is unknown (404). */
  principalId: string;
  /** `*` for the aggregated `/mcp`, else the server id of `/mcp/{server_id}`. */
  view: string;
  protocolVersion: string;
  clientInfo: Implementation | null;
  clientCapabilities: ClientCapabilities;
  /** `logging/setLevel`; upstream log messages below it are not forwarded. */
  logLevel: LoggingLevel | null;
  /** Resource URIs the client subscribed to (`resources/subscribe`). */
  subscriptions: string[];
  createdAt: number;
}

/**
 * MCP sessions in Redis (shared by the replicas, so any of them serves the next request) or in memory without Redis.
 * While Redis is unreachable, new sessions live in the memory of the replica that created them (until they expire,
 * even after Redis is back) and sessions kept in Redis are unknown (404: the client starts a new one).
 * A session expires after `mcp.endpoint.session-idle-timeout` without a request (Redis TTL, refreshed on use); at most
 * `mcp.endpoint.max-sessions` live at once (a sorted set of expiry times counts them).
 */
@Injectable()
export class McpSessionStore {
  private readonly logger = new Logger('McpSessions');
  private readonly memory = new Map<string, { session: McpSession; expiresAt: number }>();
  private readonly idleMs: number;
  private readonly max: number;
  private readonly prefix: string;

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly redis: RedisConnection,
  ) {
    this.idleMs = config.mcp.endpoint.sessionIdleTimeout;
    this.max = config.mcp.endpoint.maxSessions;
    this.prefix = `${config.spring.cache.redis.keyPrefix}mcp-session:`;
  }

  private get client() {
    const client = this.redis.client;
    return client?.isReady ? client : null;
  }

  private get indexKey(): string {
    return `${this.prefix}index`;
  }

  /** Stores a new session; false when the bound on live sessions is reached. */
  async create(session: McpSession): Promise<boolean> {
    const now = Date.now();
    const client = this.client;
    if (client)
      return this.redisOr(
        async () => {
          await client.zRemRangeByScore(this.indexKey, 0, now);
          if ((await client.zCard(this.indexKey)) >= this.max) return false;
          await client
            .multi()
            .set(this.prefix + session.id, JSON.stringify(session), { PX: this.idleMs })
            .zAdd(this.indexKey, { score: now + this.idleMs, value: session.id })
            .exec();
          return true;
        },
        () => this.createInMemory(session, now),
      );
    return this.createInMemory(session, now);
  }

  private createInMemory(session: McpSession, now: number): boolean {
    this.sweep(now);
    if (this.memory.size >= this.max) return false;
    this.memory.set(session.id, { session, expiresAt: now + this.idleMs });
    return true;
  }

  /** The session, its idle timer restarted; undefined when unknown or expired. */
  async touch(id: string): Promise<McpSession | undefined> {
    const now = Date.now();
    const client = this.client;
    if (client) {
      // A session created here while Redis was away lives in this process' memory until it expires.
      return this.redisOr(
        async () => {
          const raw = await client.get(this.prefix + id);
          if (raw === null) return this.touchInMemory(id, now);
          await client
            .multi()
            .pExpire(this.prefix + id, this.idleMs)
            .zAdd(this.indexKey, { score: now + this.idleMs, value: id })
            .exec();
          return JSON.parse(raw) as McpSession;
        },
        () => this.touchInMemory(id, now),
      );
    }
    return this.touchInMemory(id, now);
  }

  private touchInMemory(id: string, now: number): McpSession | undefined {
    const entry = this.memory.get(id);
    if (!entry || entry.expiresAt <= now) {
      this.memory.delete(id);
      return undefined;
    }
    entry.expiresAt = now + this.idleMs;
    return entry.session;
  }

  /** Rewrites a session's state (log level, subscriptions), keeping its idle timer. */
  async update(session: McpSession): Promise<void> {
    const client = this.client;
    const entry = this.memory.get(session.id);
    if (client && !entry) {
      await this.redisOr(
        () => client.set(this.prefix + session.id, JSON.stringify(session), { PX: this.idleMs }),
        () => undefined,
      );
      return;
    }
    if (entry) entry.session = session;
  }

  /** Ends a session; false when it did not exist. */
  async delete(id: string): Promise<boolean> {
    const client = this.client;
    const inMemory = this.memory.delete(id);
    if (client) {
      return this.redisOr(
        async () => {
          const [removed] = await client
            .multi()
            .del(this.prefix + id)
            .zRem(this.indexKey, id)
            .exec();
          return Number(removed) > 0 || inMemory;
        },
        () => inMemory,
      );
    }
    return inMemory;
  }

  /** Live sessions (across replicas with Redis). */
  async count(): Promise<number> {
    const now = Date.now();
    const client = this.client;
    if (client) {
      try {
        await client.zRemRangeByScore(this.indexKey, 0, now);
        return await client.zCard(this.indexKey);
      } catch (error) {
        this.logger.debug(`session count unavailable: ${(error as Error).message}`);
        return 0;
      }
    }
    this.sweep(now);
    return this.memory.size;
  }

  /**
   * A Redis failure mid-request (it went away between the readiness check and the command) falls back to this
   * process' sessions, as when it is known to be down; RedisConnection logs the outage once.
   */
  private async redisOr<T>(op: () => Promise<T>, fallback: () => T): Promise<T> {
    try {
      return await op();
    } catch (error) {
      this.logger.debug(`MCP session store (Redis) failed, using this replica's sessions: ${(error as Error).message}`);
      return fallback();
    }
  }

  private sweep(now: number): void {
    for (const [id, entry] of this.memory) if (entry.expiresAt <= now) this.memory.delete(id);
  }
}
