import { Body, Controller, Get, HttpCode, Param, Post, Query, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { ApiErrorResponses } from 'src/common/errors/api-error-responses.decorator';
import { abortOnClientDisconnect } from 'src/common/http/client-disconnect';
import { ServerIdParamDto } from 'src/servers/dto/server-id.dto';
import {
  BatchRequestDto,
  BatchResultDto,
  ExecuteOnServerDto,
  ExecuteToolDto,
  ExecutionResultDto,
  ListToolsQueryDto,
  ServerToolParamDto,
  ToolDto,
  ToolListDto,
  ToolNameParamDto,
  ToolQueryDto,
} from './dto/tool.dto';
import { ToolsService } from './tools.service';
import { Authenticated } from 'src/auth/authenticated.decorator';
import { AllowedServers, CurrentPrincipal } from 'src/auth/current-principal.decorator';
import type { Principal } from 'src/auth/principal';

@ApiTags('Tools')
@Controller('api')
export class ToolsController {
  constructor(private readonly tools: ToolsService) {}

  @Get('tools')
  @Authenticated({ scopes: ['mcp:read'] })
  @ApiOperation({
    summary: 'List tools across servers',
    description: 'Filter by server, category, or text in name/description.',
  })
  @ApiOkResponse({ type: ToolListDto })
  @ApiErrorResponses(400, 404)
  listTools(@Query() query: ListToolsQueryDto, @AllowedServers() allowed?: ReadonlySet<string>): ToolListDto {
    return this.tools.list(query, allowed);
  }

  @Get('tools/:name')
  @Authenticated({ scopes: ['mcp:read'] })
  @ApiOperation({
    summary: 'One tool',
    description: '409 CONFLICT when the name exists on several servers and `server_id` is missing.',
  })
  @ApiOkResponse({ type: ToolDto })
  @ApiErrorResponses(400, 404, 409)
  getTool(
    @Param() { name }: ToolNameParamDto,
    @Query() { server_id }: ToolQueryDto,
    @AllowedServers() allowed?: ReadonlySet<string>,
  ): ToolDto {
    return this.tools.get(name, server_id, allowed);
  }

  @Post('tools/:name/execute')
  @Authenticated({ scopes: ['mcp:write'] })
  @HttpCode(200)
  @ApiOperation({
    summary: 'Execute a tool',
    description:
      "Parameters are validated against the tool's input schema before the upstream is called. A result with `is_error: true` " +
      'is a completed call whose tool reported a failure. A client that disconnects cancels the upstream call.',
  })
  @ApiOkResponse({ type: ExecutionResultDto })
  @ApiErrorResponses(400, 404, 409, 413, 502, 503, 504)
  executeTool(
    @Param() { name }: ToolNameParamDto,
    @Body() body: ExecuteToolDto,
    @Res({ passthrough: true }) reply: FastifyReply,
    @AllowedServers() allowed?: ReadonlySet<string>,
    @CurrentPrincipal() principal?: Principal,
  ): Promise<ExecutionResultDto> {
    return this.tools.execute({
      name,
      serverId: body.server_id,
      allowedServers: allowed,
      parameters: body.parameters,
      timeoutMs: body.timeout,
      idempotencyKey: body.idempotency_key,
      principal: principal?.id,
      signal: abortOnClientDisconnect(reply),
    });
  }

  @Post('tools/batch')
  @Authenticated({ scopes: ['mcp:write'] })
  @HttpCode(200)
  @ApiOperation({
    summary: 'Run several tool calls as a dependency graph',
    description:
      'Validated before anything runs: a duplicate `execution_id`, an unknown dependency or a cycle is a 400 naming ' +
      "them; a step naming a server outside the caller's allow-list is a 403 naming the step. Steps run once their " +
      '`depends_on` completed, at most `max_parallel` (default 4, max 16) at once; a step whose dependency failed is ' +
      '`skipped`, and with `fail_fast` the first failure skips every step not started yet. Each step that runs is ' +
      'recorded as an execution (`record_id`) linked to the batch. At most 100 steps.',
  })
  @ApiOkResponse({ type: BatchResultDto })
  @ApiErrorResponses(400, 413)
  runBatch(
    @Body() body: BatchRequestDto,
    @Res({ passthrough: true }) reply: FastifyReply,
    @AllowedServers() allowed?: ReadonlySet<string>,
    @CurrentPrincipal() principal?: Principal,
  ): Promise<BatchResultDto> {
    return this.tools.batch(body, {
      principal: principal?.id,
      allowedServers: allowed,
      signal: abortOnClientDisconnect(reply),
    });
  }

  @Get('servers/:id/tools')
  @Authenticated({ scopes: ['mcp:read'], serverParam: 'id' })
  @ApiOperation({ summary: "A server's tools (view kept from the earlier edition)" })
  @ApiOkResponse({ type: ToolListDto })
  @ApiErrorResponses(400, 404)
  listServerTools(@Param() { id }: ServerIdParamDto): ToolListDto {
    return this.tools.list({ server_id: id });
  }

  @Post('servers/:id/tools/:tool')
  @Authenticated({ scopes: ['mcp:write'], serverParam: 'id' })
  @HttpCode(200)
  @ApiOperation({
    summary: "Execute one server's tool",
    description: 'Same as POST /api/tools/{name}/execute with the server named in the path.',
  })
  @ApiOkResponse({ type: ExecutionResultDto })
  @ApiErrorResponses(400, 404, 409, 413, 502, 503, 504)
  executeServerTool(
    @Param() { id, tool }: ServerToolParamDto,
    @Body() body: ExecuteOnServerDto,
    @Res({ passthrough: true }) reply: FastifyReply,
    @CurrentPrincipal() principal?: Principal,
  ): Promise<ExecutionResultDto> {
    return this.tools.execute({
      name: tool,
      serverId: id,
      parameters: body.parameters,
      timeoutMs: body.timeout,
      idempotencyKey: body.idempotency_key,
      principal: principal?.id,
      signal: abortOnClientDisconnect(reply),
    });
  }
}
