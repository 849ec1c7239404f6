import { Controller, Get, Param, Query, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { ApiErrorResponses } from 'src/common/errors/api-error-responses.decorator';
import { abortOnClientDisconnect } from 'src/common/http/client-disconnect';
import { ServerIdParamDto } from 'src/servers/dto/server-id.dto';
import {
  ListResourcesQueryDto,
  ReadResourceQueryDto,
  ReadResourceResultDto,
  ResourceContentDto,
  ResourceContentQueryDto,
  ResourceListDto,
  ResourceTemplateListDto,
  ServerFilterQueryDto,
} from './dto/resource.dto';
import { ResourcesService } from './resources.service';
import { Authenticated } from 'src/auth/authenticated.decorator';
import { AllowedServers, CurrentPrincipal } from 'src/auth/current-principal.decorator';
import type { Principal } from 'src/auth/principal';

@ApiTags('Resources')
@Controller('api')
export class ResourcesController {
  constructor(private readonly resources: ResourcesService) {}

  @Get('resources')
  @Authenticated({ scopes: ['mcp:read'] })
  @ApiOperation({
    summary: 'List resources across servers',
    description:
      'Filter by server, MIME type prefix (`type=text`, `type=image/png`) and URI (`uri_pattern`: glob with `*`, else substring).',
  })
  @ApiOkResponse({ type: ResourceListDto })
  @ApiErrorResponses(400, 404)
  listResources(
    @Query() query: ListResourcesQueryDto,
    @AllowedServers() allowed?: ReadonlySet<string>,
  ): ResourceListDto {
    return this.resources.list(query, allowed);
  }

  @Get('resources/templates')
  @Authenticated({ scopes: ['mcp:read'] })
  @ApiOperation({
    summary: 'List resource templates across servers',
    description: 'RFC 6570 URI templates the servers can read concrete URIs of.',
  })
  @ApiOkResponse({ type: ResourceTemplateListDto })
  @ApiErrorResponses(400, 404)
  listResourceTemplates(
    @Query() { server_id }: ServerFilterQueryDto,
    @AllowedServers() allowed?: ReadonlySet<string>,
  ): ResourceTemplateListDto {
    return this.resources.listTemplates(server_id, allowed);
  }

  @Get('resources/content')
  @Authenticated({ scopes: ['mcp:read'] })
  @ApiOperation({
    summary: 'Read a resource',
    description:
      'Text parts come as text, blobs as base64 (see `format`); `contents` holds every part as the upstream sent it. Without ' +
      '`server_id` the server is found from the resource lists (then the templates): 409 when several servers offer the URI, ' +
      '400 when none does. An unknown URI on a named server is a 404. A client that disconnects cancels the upstream read.',
  })
  @ApiOkResponse({ type: ResourceContentDto })
  @ApiErrorResponses(400, 404, 409, 502, 503, 504)
  getResourceContent(
    @Query() query: ResourceContentQueryDto,
    @Res({ passthrough: true }) reply: FastifyReply,
    @CurrentPrincipal() principal: Principal | undefined,
    @AllowedServers() allowed?: ReadonlySet<string>,
  ): Promise<ResourceContentDto> {
    return this.resources.content({
      allowedServers: allowed,
      principal,
      uri: query.uri,
      serverId: query.server_id,
      format: query.format,
      signal: abortOnClientDisconnect(reply),
    });
  }

  @Get('servers/:id/resources')
  @Authenticated({ scopes: ['mcp:read'], serverParam: 'id' })
  @ApiOperation({
    summary: "A server's resources",
    deprecated: true,
    description: 'Deprecated: use `GET /api/resources?server_id={id}`, which gives the same list.',
  })
  @ApiOkResponse({ type: ResourceListDto })
  @ApiErrorResponses(400, 404)
  listServerResources(@Param() { id }: ServerIdParamDto): ResourceListDto {
    return this.resources.list({ server_id: id });
  }

  @Get('servers/:id/resources/read')
  @Authenticated({ scopes: ['mcp:read'], serverParam: 'id' })
  @ApiOperation({
    summary: "Read one server's resource",
    deprecated: true,
    description:
      'Deprecated: use `GET /api/resources/content?uri=…&server_id={id}`. The upstream `resources/read` result ' +
      'passed through as it was sent (`contents` with `text` or base64 `blob` parts).',
  })
  @ApiOkResponse({ type: ReadResourceResultDto })
  @ApiErrorResponses(400, 404, 502, 503, 504)
  readServerResource(
    @Param() { id }: ServerIdParamDto,
    @Query() { uri }: ReadResourceQueryDto,
    @Res({ passthrough: true }) reply: FastifyReply,
    @CurrentPrincipal() principal: Principal | undefined,
  ): Promise<ReadResourceResultDto> {
    return this.resources.read(id, uri, { signal: abortOnClientDisconnect(reply), principal });
  }
}
