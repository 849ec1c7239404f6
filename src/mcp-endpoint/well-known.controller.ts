import { Controller, Get, Inject, Req } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import { Public } from 'src/auth/authenticated.decorator';
import { SCOPES } from 'src/auth/scopes';
import { APP_CONFIG } from 'src/config/config.module';
import type { AppConfig } from 'src/config/config.schema';
import { ProtectedResourceMetadataDto } from './dto/mcp-endpoint.dto';
import { baseUrlOf } from './protected-resource';

/** OAuth 2.0 Protected Resource Metadata (RFC 9728), which spec-following MCP clients read after a 401. */
@ApiTags('MCP endpoint')
@Controller('.well-known')
export class WellKnownController {
  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  @Get(['oauth-protected-resource', 'oauth-protected-resource/mcp', 'oauth-protected-resource/mcp/:serverId'])
  @Public()
  @ApiOperation({
    summary: 'OAuth 2.0 Protected Resource Metadata of the MCP endpoint (RFC 9728)',
    description: 'Named by `resource_metadata` in the `WWW-Authenticate` challenge of a 401 on `/mcp`.',
  })
  @ApiOkResponse({ type: ProtectedResourceMetadataDto })
  metadata(@Req() request: FastifyRequest): ProtectedResourceMetadataDto {
    const issuer = this.config.spring.security.oauth2.resourceserver.jwt.issuerUri;
    const suffix = request.url.split('?')[0]!.replace(/^\/\.well-known\/oauth-protected-resource/, '');
    return {
      resource: `${baseUrlOf(request)}${suffix || '/mcp'}`,
      authorization_servers: issuer ? [issuer] : [],
      scopes_supported: [...SCOPES],
      bearer_methods_supported: ['header'],
      resource_name: 'globalmcp',
    };
  }
}
