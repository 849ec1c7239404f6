import { Controller, Get, Inject, Param, Req } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import { Public } from 'src/auth/authenticated.decorator';
import { SCOPES } from 'src/auth/scopes';
import { ApiErrorResponses } from 'src/common/errors/api-error-responses.decorator';
import { APP_CONFIG } from 'src/config/config.module';
import type { AppConfig } from 'src/config/config.schema';
import { ServersService } from 'src/servers/servers.service';
import { McpServerParamDto, ProtectedResourceMetadataDto } from './dto/mcp-endpoint.dto';
import { baseUrlOf } from './protected-resource';

/** OAuth 2.0 Protected Resource Metadata (RFC 9728), which spec-following MCP clients read after a 401. */
@ApiTags('MCP endpoint')
@Controller('.well-known')
export class WellKnownController {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly servers: ServersService,
  ) {}

  @Get(['oauth-protected-resource', 'oauth-protected-resource/mcp'])
  @Public()
  @ApiOperation({
    summary: 'OAuth 2.0 Protected Resource Metadata of the MCP endpoint (RFC 9728)',
    description: 'Named by `resource_metadata` in the `WWW-Authenticate` challenge of a 401 on `/mcp`.',
  })
  @ApiOkResponse({ type: ProtectedResourceMetadataDto })
  metadata(@Req() request: FastifyRequest): ProtectedResourceMetadataDto {
    return this.render(request, '/mcp');
  }

  @Get('oauth-protected-resource/mcp/:serverId')
  @Public()
  @ApiOperation({
    summary: 'OAuth 2.0 Protected Resource Metadata of the MCP endpoint of one server (RFC 9728)',
    description: 'Named by `resource_metadata` in the `WWW-Authenticate` challenge of a 401 on `/mcp/{serverId}`.',
  })
  @ApiOkResponse({ type: ProtectedResourceMetadataDto })
  @ApiErrorResponses(400, 404)
  serverMetadata(
    @Param() { serverId }: McpServerParamDto,
    @Req() request: FastifyRequest,
  ): ProtectedResourceMetadataDto {
    // Metadata only for a resource that exists: an unknown (or hostile) server id is a 404, not a document
    // describing `/mcp/<whatever was sent>`.
    this.servers.find(serverId);
    return this.render(request, `/mcp/${serverId}`);
  }

  private render(request: FastifyRequest, resourcePath: string): ProtectedResourceMetadataDto {
    const issuer = this.config.spring.security.oauth2.resourceserver.jwt.issuerUri;
    return {
      resource: `${baseUrlOf(request)}${resourcePath}`,
      authorization_servers: issuer ? [issuer] : [],
      scopes_supported: [...SCOPES],
      bearer_methods_supported: ['header'],
      resource_name: 'globalmcp',
    };
  }
}
