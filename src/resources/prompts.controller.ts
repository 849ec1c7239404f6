import { Body, Controller, Get, HttpCode, Param, Post, Query, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { ApiErrorResponses } from 'src/common/errors/api-error-responses.decorator';
import { abortOnClientDisconnect } from 'src/common/http/client-disconnect';
import { ServerIdParamDto } from 'src/servers/dto/server-id.dto';
import { GetPromptDto, PromptListDto, PromptNameParamDto, PromptResultDto } from './dto/prompt.dto';
import { ServerFilterQueryDto } from './dto/resource.dto';
import { PromptsService } from './prompts.service';
import { Authenticated } from 'src/auth/authenticated.decorator';
import { AllowedServers, CurrentPrincipal } from 'src/auth/current-principal.decorator';
import type { Principal } from 'src/auth/principal';

@ApiTags('Prompts')
@Controller('api')
export class PromptsController {
  constructor(private readonly prompts: PromptsService) {}

  @Get('prompts')
  @Authenticated({ scopes: ['mcp:read'] })
  @ApiOperation({ summary: 'List prompts across servers', description: 'Optionally of one server.' })
  @ApiOkResponse({ type: PromptListDto })
  @ApiErrorResponses(400, 404)
  listPrompts(
    @Query() { server_id }: ServerFilterQueryDto,
    @AllowedServers() allowed?: ReadonlySet<string>,
  ): PromptListDto {
    return this.prompts.list(server_id, allowed);
  }

  @Post('prompts/:name/get')
  @Authenticated({ scopes: ['mcp:read'] })
  @HttpCode(200)
  @ApiOperation({
    summary: 'Get a prompt with its arguments',
    description:
      "Required arguments are checked against the prompt's declaration before the upstream is called (400 naming them). " +
      '409 CONFLICT when the name exists on several servers and `server_id` is missing; 404 when no server offers it.',
  })
  @ApiOkResponse({ type: PromptResultDto })
  @ApiErrorResponses(400, 404, 409, 502, 503, 504)
  getPrompt(
    @Param() { name }: PromptNameParamDto,
    @Body() body: GetPromptDto,
    @Res({ passthrough: true }) reply: FastifyReply,
    @CurrentPrincipal() principal: Principal | undefined,
    @AllowedServers() allowed?: ReadonlySet<string>,
  ): Promise<PromptResultDto> {
    return this.prompts.get({
      allowedServers: allowed,
      principal,
      name,
      serverId: body.server_id,
      arguments: body.arguments,
      signal: abortOnClientDisconnect(reply),
    });
  }

  @Get('servers/:id/prompts')
  @Authenticated({ scopes: ['mcp:read'], serverParam: 'id' })
  @ApiOperation({
    summary: "A server's prompts",
    deprecated: true,
    description: 'Deprecated: use `GET /api/prompts?server_id={id}`, which gives the same list.',
  })
  @ApiOkResponse({ type: PromptListDto })
  @ApiErrorResponses(400, 404)
  listServerPrompts(@Param() { id }: ServerIdParamDto): PromptListDto {
    return this.prompts.list(id);
  }
}
