import { type DynamicModule, Module } from '@nestjs/common';
import { AuthModule } from './auth/auth.module';
import { CacheModule } from './cache/cache.module';
import { ConfigModule } from './config/config.module';
import { ConnectionsModule } from './connections/connections.module';
import type { LoadedConfig } from './config/config.loader';
import { DatabaseModule } from './database/database.module';
import { HealthModule } from './health/health.module';
import { LoggingModule } from './logging/logging.module';
import { McpModule } from './mcp/mcp.module';
import { McpEndpointModule } from './mcp-endpoint/mcp-endpoint.module';
import { MessagesModule } from './messages/messages.module';
import { MetricsModule } from './metrics/metrics.module';
import { OpenApiModule } from './openapi/openapi.module';
import { ReloadModule } from './reload/reload.module';
import { ResourcesModule } from './resources/resources.module';
import { ServersModule } from './servers/servers.module';
import { VirtualServersModule } from './virtual-servers/virtual-servers.module';
import { ToolsModule } from './tools/tools.module';
import { TracingModule } from './tracing/tracing.module';

/** The API application: every capability module, wired to the configuration loaded once in main.ts. */
@Module({})
export class AppModule {
  static forRoot(loaded: LoadedConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(loaded),
        // Before LoggingModule: its request hooks run first, so the request log line is written inside the trace.
        TracingModule,
        LoggingModule,
        MetricsModule,
        DatabaseModule,
        CacheModule,
        McpModule,
        AuthModule,
        HealthModule,
        ServersModule,
        ConnectionsModule,
        VirtualServersModule,
        ToolsModule,
        OpenApiModule,
        ResourcesModule,
        MessagesModule,
        McpEndpointModule.forRoot(loaded.config.mcp.endpoint.enabled),
        ReloadModule,
      ],
    };
  }
}
