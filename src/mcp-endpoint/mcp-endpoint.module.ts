import { type DynamicModule, Module } from '@nestjs/common';
import { ServersModule } from 'src/servers/servers.module';
import { ToolsModule } from 'src/tools/tools.module';
import { McpEndpointController } from './mcp-endpoint.controller';
import { McpEndpointMetrics, mcpEndpointMetricProviders } from './mcp-endpoint.metrics';
import { DnsRebindingGuard } from './guards/dns-rebinding.guard';
import { ToolCallScopeGuard } from './guards/tool-call-scope.guard';
import { McpFrontDoorService } from './mcp-front-door.service';
import { McpSessionBus } from './mcp-session.bus';
import { McpSessionStore } from './mcp-session.store';
import { McpSessions } from './mcp-sessions.service';
import { WellKnownController } from './well-known.controller';

/** The MCP front door (`/mcp`, `/mcp/{server_id}`, `/sse` + `/messages`); see McpFrontDoorService and ADR 0003. */
@Module({})
export class McpEndpointModule {
  /** Nothing is mounted when `mcp.endpoint.enabled` is false. */
  static forRoot(enabled: boolean): DynamicModule {
    if (!enabled) return { module: McpEndpointModule };
    return {
      module: McpEndpointModule,
      imports: [ServersModule, ToolsModule],
      controllers: [McpEndpointController, WellKnownController],
      providers: [
        ...mcpEndpointMetricProviders,
        McpEndpointMetrics,
        McpSessionStore,
        McpSessionBus,
        McpSessions,
        DnsRebindingGuard,
        ToolCallScopeGuard,
        McpFrontDoorService,
      ],
    };
  }
}
