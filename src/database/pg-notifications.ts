import { Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { Client } from 'pg';
import { DataSource } from 'typeorm';

/** What a subscriber gets: each payload on its channel, and a call after a reconnect (notifications may be lost). */
export interface NotificationSubscriber {
  onPayload(payload: string): void;
  /** The connection was lost and is back: anything announced meanwhile was missed (reconcile here). */
  onReconnected?(): void;
}

const RECONNECT_MS = 2_000;

/**
 * PostgreSQL LISTEN for the whole process, on one dedicated connection (a pooled connection cannot hold a LISTEN):
 * the registry's changes and the jobs' remote cancels share it. A lost connection is re-opened every 2 s, every
 * channel LISTENed again, and subscribers told, since NOTIFYs sent in between are not replayed.
 */
@Injectable()
export class PgNotifications implements OnModuleDestroy {
  private readonly logger = new Logger('PgNotifications');
  private readonly subscribers = new Map<string, Set<NotificationSubscriber>>();
  private client: Client | undefined;
  private connecting: Promise<void> | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** Resolves once the channel is LISTENed (or the attempt failed and a reconnect is scheduled). */
  async subscribe(channel: string, subscriber: NotificationSubscriber): Promise<() => void> {
    assertChannelName(channel);
    let set = this.subscribers.get(channel);
    const isNew = !set;
    if (!set) this.subscribers.set(channel, (set = new Set()));
    set.add(subscriber);
    if (!this.client && !this.connecting) {
      // Lost and waiting to reconnect: reconnect now (and tell everyone) instead of opening a second connection.
      const wasLost = this.reconnectTimer !== undefined;
      clearTimeout(this.reconnectTimer);
      this.reconnectTimer = undefined;
      await this.connect(wasLost);
    } else {
      await this.connecting;
      if (isNew && this.client) await this.client.query(`LISTEN ${channel}`).catch(() => undefined);
    }
    return () => {
      set.delete(subscriber);
    };
  }

  /** Sends a NOTIFY through the pool (any connection may NOTIFY). */
  async notify(channel: string, payload: string): Promise<void> {
    await this.dataSource.query('SELECT pg_notify($1, $2)', [channel, payload]);
  }

  /** First of the shutdown hooks: the database may stop next, and a lost LISTEN must not be reported or retried. */
  async onModuleDestroy(): Promise<void> {
    this.closed = true;
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }

  private connect(isReconnect: boolean): Promise<void> {
    this.connecting = this.open(isReconnect).finally(() => (this.connecting = undefined));
    return this.connecting;
  }

  private async open(isReconnect: boolean): Promise<void> {
    if (this.closed) return;
    const options = this.dataSource.options as {
      url?: string;
      host?: string;
      port?: number;
      username?: string;
      password?: unknown;
      database?: string;
      ssl?: unknown;
    };
    const client = new Client({
      connectionString: options.url,
      host: options.host,
      port: options.port,
      user: options.username,
      password: typeof options.password === 'string' ? options.password : undefined,
      database: options.database,
      ssl: options.ssl as boolean | undefined,
      application_name: 'globalmcp-listener',
    });
    const lost = (why: string) => {
      if (this.client !== client) return;
      this.client = undefined;
      client.end().catch(() => undefined);
      if (this.closed) return;
      this.logger.warn(`LISTEN connection lost (${why}); reconnecting in ${RECONNECT_MS / 1000} s`);
      clearTimeout(this.reconnectTimer);
      this.reconnectTimer = setTimeout(() => {
        this.reconnectTimer = undefined;
        void this.connect(true);
      }, RECONNECT_MS);
      this.reconnectTimer.unref();
    };
    client.on('error', (error) => lost(error.message));
    client.on('end', () => lost('connection ended'));
    client.on('notification', (message) => {
      if (!message.payload) return;
      for (const subscriber of this.subscribers.get(message.channel) ?? []) {
        try {
          subscriber.onPayload(message.payload);
        } catch (error) {
          this.logger.error(`A ${message.channel} subscriber failed: ${(error as Error).message}`);
        }
      }
    });
    this.client = client;
    try {
      await client.connect();
      for (const channel of this.subscribers.keys()) await client.query(`LISTEN ${channel}`);
    } catch (error) {
      lost((error as Error).message);
      return;
    }
    if (!isReconnect) return;
    this.logger.log('LISTEN connection re-established');
    for (const set of this.subscribers.values()) for (const subscriber of set) subscriber.onReconnected?.();
  }
}

/** Channel names go into LISTEN unquoted: only plain identifiers. */
function assertChannelName(channel: string): void {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(channel)) throw new Error(`invalid notification channel name '${channel}'`);
}
