import { Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiErrorResponses } from 'src/common/errors/api-error-responses.decorator';
import { ServerIdParamDto } from './dto/server-id.dto';
import {
  ListServersQueryDto,
  ServerActionDto,
  ServerDetailsDto,
  ServerHealthDto,
  ServerInfoDto,
  ServerListDto,
} from './dto/server.dto';
import { ServersService } from './servers.service';
import { Authenticated } from 'src/auth/authenticated.decorator';
import { AllowedServers } from 'src/auth/current-principal.decorator';

@ApiTags('Servers')
@Controller('api/servers')
export class ServersController {
  constructor(private readonly servers: ServersService) {}

  @Get()
  @Authenticated({ scopes: ['mcp:read'] })
  @ApiOperation({
    summary: 'List MCP servers',
    description: 'Filter by status and type; paginated (limit at most 200).',
  })
  @ApiOkResponse({ type: ServerListDto })
  @ApiErrorResponses(400)
  listServers(@Query() query: ListServersQueryDto, @AllowedServers() allowed?: ReadonlySet<string>): ServerListDto {
    return this.servers.list(query, allowed);
  }

  @Get(':id')
  @Authenticated({ scopes: ['mcp:read'], serverParam: 'id' })
  @ApiOperation({
    summary: 'Server details',
    description: 'Configuration (environment and header values masked), capabilities, call metrics, last error.',
  })
  @ApiOkResponse({ type: ServerDetailsDto })
  @ApiErrorResponses(404)
  getServer(@Param() { id }: ServerIdParamDto): ServerDetailsDto {
    return this.servers.details(id);
  }

  @Get(':id/info')
  @Authenticated({ scopes: ['mcp:read'], serverParam: 'id' })
  @ApiOperation({ summary: 'Server identity and protocol version (view kept from the earlier edition)' })
  @ApiOkResponse({ type: ServerInfoDto })
  @ApiErrorResponses(404)
  getServerInfo(@Param() { id }: ServerIdParamDto): ServerInfoDto {
    return this.servers.info(id);
  }

  @Get(':id/health')
  @Authenticated({ scopes: ['mcp:read'], serverParam: 'id' })
  @ApiOperation({
    summary: 'Check a server now',
    description: 'A live ping round trip plus authentication and discovery state.',
  })
  @ApiOkResponse({ type: ServerHealthDto })
  @ApiErrorResponses(404)
  checkServerHealth(@Param() { id }: ServerIdParamDto): Promise<ServerHealthDto> {
    return this.servers.health(id);
  }

  @Post(':id/restart')
  @Authenticated({ scopes: ['mcp:admin'], serverParam: 'id' })
  @HttpCode(200)
  @ApiOperation({
    summary: 'Restart a server',
    description: 'Closes its connections (and processes) and connects again; clears a crash-loop park.',
  })
  @ApiOkResponse({ type: ServerActionDto })
  @ApiErrorResponses(404, 503)
  restartServer(@Param() { id }: ServerIdParamDto): Promise<ServerActionDto> {
    return this.servers.restart(id);
  }
}
