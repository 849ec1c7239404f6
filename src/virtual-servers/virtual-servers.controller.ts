import { Body, Controller, Delete, Get, HttpCode, Param, Post, Put, Query, Res } from '@nestjs/common';
import { RouteConfig } from '@nestjs/platform-fastify';
import { ApiBody, ApiCreatedResponse, ApiHeader, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { Authenticated } from 'src/auth/authenticated.decorator';
import { CurrentPrincipal } from 'src/auth/current-principal.decorator';
import type { Principal } from 'src/auth/principal';
import { ApiErrorResponses } from 'src/common/errors/api-error-responses.decorator';
import { abortOnClientDisconnect } from 'src/common/http/client-disconnect';
import { EMPTY_JSON_BODY_IS_EMPTY_OBJECT } from 'src/common/http/empty-json-body';
import { ExecutionResultDto, toExecutionResultDto } from 'src/executions/dto/execution-result.dto';
import { IDEMPOTENCY_KEY_API_HEADER, IdempotencyKey, ToolArgumentsPipe } from 'src/tools/dto/server-tool-call';
import {
  VirtualServerDto,
  VirtualServerIdParamDto,
  VirtualServerInputDto,
  VirtualServerListDto,
  VirtualToolCallQueryDto,
  VirtualToolListDto,
  VirtualToolParamDto,
} from './dto/virtual-server.dto';
import type { VirtualServer } from './virtual-composition';
import { toVirtualToolDto, VirtualCallsService } from './virtual-calls.service';
import { VirtualServersService } from './virtual-servers.service';

/** The route every virtual tool operation of the OpenAPI document is an instance of (src/openapi). */
export const VIRTUAL_TOOL_PATH = '/api/virtual-servers/{id}/tools/{tool}';

const DEFINITION =
  'A virtual server exposes tools, prompts and resources of several servers under names and descriptions of its ' +
  'own (`name`, `description`, `fixed_arguments`), at `/mcp/{id}` for MCP clients and `/api/virtual-servers/{id}` ' +
  'here. Stored and applied on every replica without a restart. Refused with nothing stored: an invalid body or a ' +
  'member naming an unknown server or tool (400); an id taken by a server or virtual server, or two members exposed ' +
  'under one name (409).';

/**
 * Bodies are validated by the schema of `mcp.virtual-servers` (zod), not by class-validator: one definition for the
 * file and the API. The body parameters are therefore typed `unknown` (the global pipe passes them on).
 */
@ApiTags('Virtual servers')
@Controller('api/virtual-servers')
export class VirtualServersController {
  constructor(
    private readonly virtuals: VirtualServersService,
    private readonly calls: VirtualCallsService,
  ) {}

  @Get()
  @Authenticated({ scopes: ['mcp:admin'] })
  @ApiOperation({ summary: 'Virtual servers', description: DEFINITION })
  @ApiOkResponse({ type: VirtualServerListDto })
  listVirtualServers(): VirtualServerListDto {
    return { virtual_servers: this.virtuals.list().map(toDto) };
  }

  @Get(':id')
  @Authenticated({ scopes: ['mcp:admin'] })
  @ApiOperation({ summary: 'One virtual server' })
  @ApiOkResponse({ type: VirtualServerDto })
  @ApiErrorResponses(400, 404)
  getVirtualServer(@Param() { id }: VirtualServerIdParamDto): VirtualServerDto {
    return toDto(this.virtuals.find(id));
  }

  @Post()
  @HttpCode(201)
  @Authenticated({ scopes: ['mcp:admin'] })
  @ApiOperation({ summary: 'Define a virtual server', description: DEFINITION })
  @ApiBody({ type: VirtualServerInputDto })
  @ApiCreatedResponse({ type: VirtualServerDto })
  @ApiErrorResponses(400, 409)
  async createVirtualServer(@Body() body: unknown): Promise<VirtualServerDto> {
    return toDto(await this.virtuals.create(body));
  }

  @Put(':id')
  @Authenticated({ scopes: ['mcp:admin'] })
  @ApiOperation({ summary: 'Replace a virtual server', description: 'Those of the configuration file are read-only.' })
  @ApiBody({ type: VirtualServerInputDto })
  @ApiOkResponse({ type: VirtualServerDto })
  @ApiErrorResponses(400, 404, 409)
  async replaceVirtualServer(
    @Param() { id }: VirtualServerIdParamDto,
    @Body() body: unknown,
  ): Promise<VirtualServerDto> {
    return toDto(await this.virtuals.replace(id, body));
  }

  @Delete(':id')
  @Authenticated({ scopes: ['mcp:admin'] })
  @ApiOperation({ summary: 'Remove a virtual server', description: 'Those of the configuration file are read-only.' })
  @ApiOkResponse({ type: VirtualServerDto })
  @ApiErrorResponses(400, 404, 409)
  async removeVirtualServer(@Param() { id }: VirtualServerIdParamDto): Promise<VirtualServerDto> {
    return toDto(await this.virtuals.remove(id));
  }

  @Get(':id/tools')
  // A key or token limited to some servers names the virtual server among them, as for /mcp/{id}.
  @Authenticated({ scopes: ['mcp:read'], serverParam: 'id' })
  @ApiOperation({
    summary: "A virtual server's tools",
    description: 'As this caller may see them: its server allow-list and the tool-level policy apply to each member.',
  })
  @ApiOkResponse({ type: VirtualToolListDto })
  @ApiErrorResponses(400, 404)
  listVirtualServerTools(
    @Param() { id }: VirtualServerIdParamDto,
    @CurrentPrincipal() principal?: Principal,
  ): VirtualToolListDto {
    return { tools: this.calls.tools(id, principal).map(toVirtualToolDto) };
  }

  @Post(':id/tools/:tool')
  @Authenticated({ scopes: ['mcp:write'], serverParam: 'id' })
  @HttpCode(200)
  @RouteConfig({ [EMPTY_JSON_BODY_IS_EMPTY_OBJECT]: true })
  @ApiOperation({
    summary: "Execute a virtual server's tool",
    description:
      "The body is the tool's arguments (no wrapper), without the virtual server's fixed arguments (sending one is " +
      'a 400). The call runs as a call of the real server and tool (policy, validation, audit), recorded with ' +
      '`virtual_server_id`. The document also lists one typed operation per tool (tag `Virtual server: <id>`).',
  })
  @ApiHeader(IDEMPOTENCY_KEY_API_HEADER)
  @ApiBody({
    required: false,
    description: "The tool's arguments",
    schema: { type: 'object', additionalProperties: true },
  })
  @ApiOkResponse({ type: ExecutionResultDto })
  @ApiErrorResponses(400, 403, 404, 409, 502, 503, 504)
  async executeVirtualTool(
    @Param() { id, tool }: VirtualToolParamDto,
    @Body(ToolArgumentsPipe) args: Record<string, unknown>,
    @Query() { timeout }: VirtualToolCallQueryDto,
    @IdempotencyKey() idempotencyKey: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
    @CurrentPrincipal() principal?: Principal,
  ): Promise<ExecutionResultDto> {
    const outcome = await this.calls.call(
      id,
      tool,
      args,
      {
        principal,
        ...(timeout !== undefined ? { timeoutMs: timeout } : {}),
        ...(idempotencyKey ? { idempotencyKey } : {}),
      },
      { signal: abortOnClientDisconnect(reply) },
    );
    return toExecutionResultDto(outcome);
  }
}

function toDto(def: VirtualServer): VirtualServerDto {
  return {
    id: def.id,
    name: def.name ?? null,
    description: def.description ?? null,
    source: def.source,
    mcp_url: `/mcp/${def.id}`,
    tools: def.tools,
    prompts: def.prompts,
    resources: def.resources,
  };
}
