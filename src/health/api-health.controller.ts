import { Controller, Get, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { Public } from 'src/auth/authenticated.decorator';
import { readBuildInfo } from 'src/common/build-info';
import { ApplicationState } from './application-state';
import { ApiHealthDto } from './dto/api-health.dto';
import { HealthService } from './health.service';
import { httpStatusOf, type ComponentHealth } from './health.types';

const version = readBuildInfo().version;

/** The API port's own health summary (API.md "Health and metrics on the API port"). */
@ApiTags('Health')
@Controller('api/health')
export class ApiHealthController {
  constructor(
    private readonly health: HealthService,
    private readonly state: ApplicationState,
  ) {}

  @Get()
  @Public()
  @ApiOperation({ summary: 'Gateway health: database, Redis, MCP servers, memory' })
  @ApiOkResponse({ type: ApiHealthDto })
  @ApiServiceUnavailableResponse({ type: ApiHealthDto, description: 'A dependency is down' })
  async getHealth(@Res({ passthrough: true }) reply: FastifyReply): Promise<ApiHealthDto> {
    const report = await this.health.overall({ authorized: true });
    const components = report.components ?? {};
    const status = (name: string) => components[name]?.status ?? 'UNKNOWN';
    const servers = components['mcp-servers'];
    const memory = components.memory;
    void reply.status(httpStatusOf(report.status));
    return {
      status: report.status,
      version,
      uptime_seconds: this.state.uptimeSeconds,
      checks: {
        database: status('db'),
        redis: status('redis'),
        servers: {
          status: servers?.status ?? 'UNKNOWN',
          active_count: numberDetail(servers, 'active_count'),
          total_count: numberDetail(servers, 'total_count'),
        },
        memory: {
          status: memory?.status ?? 'UNKNOWN',
          rss_bytes: numberDetail(memory, 'rss_bytes'),
          heap_used_bytes: numberDetail(memory, 'heap_used_bytes'),
        },
      },
      timestamp: new Date().toISOString(),
    };
  }
}

function numberDetail(component: ComponentHealth | undefined, key: string): number {
  const value = component?.details?.[key];
  return typeof value === 'number' ? value : 0;
}
