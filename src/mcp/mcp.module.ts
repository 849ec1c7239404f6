import { Global, Logger, Module } from '@nestjs/common';
import { APP_CONFIG } from 'src/config/config.module';
import type { AppConfig } from 'src/config/config.schema';
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
      useFactory: (config: AppConfig) =>
        new McpEngine({ client: config.mcp.client, logger: new Logger('McpEngine'), orphanWatchdog: true }),
      inject: [APP_CONFIG],
    },
    McpEngineService,
  ],
  exports: [McpEngine, McpEngineService],
})
export class McpModule {}
