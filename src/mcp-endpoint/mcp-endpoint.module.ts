import { type DynamicModule, Module } from '@nestjs/common';
import { ServersModule } from 'src/servers/servers.module';
import { CallsModule } from 'src/calls/calls.module';
import { PolicyModule } from 'src/policy/policy.module';
import { VirtualServersModule } from 'src/virtual-servers/virtual-servers.module';
import { ExecutionsModule } from 'src/executions/executions.module';
import { JobsModule } from 'src/jobs/jobs.module';
import { InputRounds } from './input-required/input-rounds';
import { RequestStates } from './input-required/request-state';
import { JobTasks } from './tasks/job-tasks';
import { TaskInputs } from './tasks/task-inputs';
import { McpEndpointController } from './mcp-endpoint.controller';
import { McpEndpointMetrics, mcpEndpointMetricProviders } from './mcp-endpoint.metrics';
import { DnsRebindingGuard } from './guards/dns-rebinding.guard';
import { ToolCallScopeGuard } from './guards/tool-call-scope.guard';
import { McpSessionBus } from './mcp-session.bus';
import { McpServerFactory } from './mcp-server.factory';
import { McpSessionRelay } from './mcp-session.relay';
import { McpEventStore } from './mcp-event.store';
import { McpSessionStore } from './mcp-session.store';
import { McpSessions } from './mcp-sessions.service';
import { StatelessServerFactory } from './stateless-server';
import { ToolCallBridge } from './tool-call.bridge';
import { DirectStatelessCall } from './transports/direct-stateless-call';
import { DirectToolCall } from './transports/direct-tool-call';
import { LegacySseHandler } from './transports/legacy-sse.handler';
import { McpDispatcher } from './transports/mcp.dispatcher';
import { StatelessHandler } from './transports/stateless.handler';
import { ListenStreams } from './subscriptions/listen-streams';
import { StreamableHttpHandler } from './transports/streamable-http.handler';
import { WellKnownController } from './well-known.controller';

/** The MCP front door (`/mcp`, `/mcp/{server_id}`, `/sse` + `/messages`); see McpDispatcher and ADR 0003. */
@Module({})
export class McpEndpointModule {
  /** Nothing is mounted when `mcp.endpoint.enabled` is false. */
  static forRoot(enabled: boolean): DynamicModule {
    if (!enabled) return { module: McpEndpointModule };
    return {
      module: McpEndpointModule,
      imports: [ServersModule, CallsModule, PolicyModule, JobsModule, ExecutionsModule, VirtualServersModule],
      controllers: [McpEndpointController, WellKnownController],
      providers: [
        ...mcpEndpointMetricProviders,
        McpEndpointMetrics,
        McpSessionStore,
        McpEventStore,
        McpSessionBus,
        McpSessions,
        DnsRebindingGuard,
        ToolCallScopeGuard,
        McpSessionRelay,
        ToolCallBridge,
        McpServerFactory,
        DirectToolCall,
        StreamableHttpHandler,
        RequestStates,
        InputRounds,
        TaskInputs,
        JobTasks,
        StatelessServerFactory,
        DirectStatelessCall,
        StatelessHandler,
        LegacySseHandler,
        McpDispatcher,
        ListenStreams,
      ],
    };
  }
}
