import { Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { InjectConfig } from 'src/config/config.module';
import type { AppConfig } from 'src/config/config.schema';
import { ConfigServersSource } from 'src/config/config-servers.source';
import { errorMessage } from './connection';
import { McpEngine } from './mcp-engine';

/**
 * Nest lifecycle around the engine: starts the configured servers at bootstrap, closes the engine (and reaps every
 * child) at shutdown. Readiness waits for `required` servers only, and only up to a bound: a dead upstream never
 * keeps the gateway from starting.
 */
@Injectable()
export class McpEngineService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('McpEngine');
  private readyPromise: Promise<void> = Promise.resolve();
  private ready = false;

  constructor(
    readonly engine: McpEngine,
    @InjectConfig() private readonly config: AppConfig,
    private readonly configServers: ConfigServersSource,
  ) {}

  /** True once every `required` server is connected or its wait bound has passed. */
  get isReady(): boolean {
    return this.ready;
  }

  /** Resolves when `isReady` becomes true. */
  whenReady(): Promise<void> {
    return this.readyPromise;
  }

  async onApplicationBootstrap(): Promise<void> {
    const servers = Object.entries(this.configServers.current);
    await Promise.all(servers.map(([id, entry]) => this.engine.upsertServer(id, entry)));
    const bound = this.config.mcp.client.defaultTimeout;
    this.readyPromise = Promise.all(
      servers
        .filter(([, entry]) => entry.enabled && entry.required)
        .map(async ([id]) => {
          const state = await this.engine.waitUntilReady(id, bound);
          if (state.status !== 'active')
            this.logger.warn(`required server '${id}' is ${state.status}: ${state.lastError ?? 'not connected yet'}`);
        }),
    )
      .catch((e: unknown) => this.logger.error(`waiting for required servers failed: ${errorMessage(e)}`))
      .then(() => {
        this.ready = true;
      });
    this.logger.log(`started ${servers.length} MCP server(s)`);
  }

  async onApplicationShutdown(): Promise<void> {
    await this.engine.close();
  }
}
