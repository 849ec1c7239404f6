import { Body, Controller, Delete, Get, HttpCode, Param, Post, Put, Query } from '@nestjs/common';
import { ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
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
import {
  DeleteServerQueryDto,
  RegisterServerDto,
  RegisterServerResultDto,
  UpdateServerDto,
  UpdateServerResultDto,
} from './dto/register-server.dto';
import { ServerRegistryService } from './registry/server-registry.service';
import { ServersService } from './servers.service';
import { Authenticated } from 'src/auth/authenticated.decorator';
import { AllowedServers } from 'src/auth/current-principal.decorator';
import { assertServerAllowed } from 'src/auth/principal';

@ApiTags('Servers')
@Controller('api/servers')
export class ServersController {
  constructor(
    private readonly servers: ServersService,
    private readonly registry: ServerRegistryService,
  ) {}

  @Post()
  @Authenticated({ scopes: ['mcp:admin'] })
  @HttpCode(201)
  @ApiOperation({
    summary: 'Register a server',
    description:
      'Stored in the database (environment and header values encrypted), started at once and on every replica. ' +
      'stdio commands must be on mcp.security.stdio.allowed-commands; http/sse hosts on allowed-upstream-hosts when ' +
      'set, never link-local/metadata addresses.',
  })
  @ApiCreatedResponse({ type: RegisterServerResultDto })
  @ApiErrorResponses(400, 403, 409)
  registerServer(
    @Body() body: RegisterServerDto,
    @AllowedServers() allowed: ReadonlySet<string> | undefined,
  ): Promise<RegisterServerResultDto> {
    // A caller limited to some servers may only register ids on its list (not servers for other tenants).
    assertServerAllowed(allowed, body.id);
    return this.registry.register(body);
  }

  @Put(':id')
  @Authenticated({ scopes: ['mcp:admin'], serverParam: 'id' })
  @ApiOperation({
    summary: 'Change a server registered through the API',
    description: 'Partial; applied to the running pool at once. Servers of the configuration file are read-only (409).',
  })
  @ApiOkResponse({ type: UpdateServerResultDto })
  @ApiErrorResponses(400, 403, 404, 409)
  updateServer(@Param() { id }: ServerIdParamDto, @Body() body: UpdateServerDto): Promise<UpdateServerResultDto> {
    return this.registry.update(id, body);
  }

  @Delete(':id')
  @Authenticated({ scopes: ['mcp:admin'], serverParam: 'id' })
  @ApiOperation({
    summary: 'Remove a server registered through the API',
    description: '409 while calls are in flight unless force=true; its processes are stopped.',
  })
  @ApiOkResponse({ type: ServerActionDto })
  @ApiErrorResponses(404, 409)
  removeServer(@Param() { id }: ServerIdParamDto, @Query() query: DeleteServerQueryDto): Promise<ServerActionDto> {
    return this.registry.remove(id, query.force === 'true');
  }

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
  @ApiOperation({ summary: "The upstream's identity (its serverInfo) and the protocol version it negotiated" })
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
