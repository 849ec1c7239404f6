import { CACHE_MANAGER, type Cache } from '@nestjs/cache-manager';
import { Global, Logger, Module } from '@nestjs/common';
import { APP_CONFIG } from 'src/config/config.module';
import type { AppConfig } from 'src/config/config.schema';
import { CacheManagerCatalogCache } from './catalog.cache';
import { McpEngine } from './mcp-engine';
import { McpEngineService } from './mcp-engine.service';

/**
 * Provides the one `McpEngine` of the process (inject it by class) and its lifecycle (`McpEngineService`).
 */
@Global()
@Module({
  providers: [
    {
      provide: McpEngine,
      useFactory: (config: AppConfig, cache?: Cache) =>
        new McpEngine({
          client: config.mcp.client,
          logger: new Logger('McpEngine'),
          orphanWatchdog: true,
          catalogCache: cache ? new CacheManagerCatalogCache(cache) : undefined,
          // The MCP front door answers these for the client whose call is in flight (src/mcp-endpoint).
          clientCapabilities:
            config.mcp.endpoint.enabled && config.mcp.endpoint.forwardClientCapabilities
              ? { sampling: {}, elicitation: {}, roots: { listChanged: true } }
              : undefined,
        }),
      inject: [APP_CONFIG, { token: CACHE_MANAGER, optional: true }],
    },
    McpEngineService,
  ],
  exports: [McpEngine, McpEngineService],
})
export class McpModule {}
