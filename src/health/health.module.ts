import { Global, Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { ApiHealthController } from './api-health.controller';
import { ApplicationState } from './application-state';
import { HealthService } from './health.service';
import { McpServersHealth } from './mcp-servers.health';

@Global()
@Module({
  imports: [TerminusModule.forRoot({ logger: false })],
  controllers: [ApiHealthController],
  providers: [ApplicationState, HealthService, McpServersHealth],
  exports: [ApplicationState, HealthService, McpServersHealth],
})
export class HealthModule {}
