import { Controller, Delete, Get, Param, Post, Query, Req, Res, UseFilters, UseGuards } from '@nestjs/common';
import { ApiBody, ApiExtraModels, ApiOkResponse, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Authenticated } from 'src/auth/authenticated.decorator';
import { ApiErrorResponses } from 'src/common/errors/api-error-responses.decorator';
import { McpJsonRpcMessageDto, LegacySessionQueryDto, McpServerParamDto } from './dto/mcp-endpoint.dto';
import { AGGREGATED } from './catalog-view';
import { DnsRebindingGuard } from './guards/dns-rebinding.guard';
import { ToolCallScopeGuard } from './guards/tool-call-scope.guard';
import { McpAuthFilter } from './mcp-auth.filter';
import { McpDispatcher } from './transports/mcp.dispatcher';

const STREAMABLE =
  'MCP Streamable HTTP (protocol 2025-03-26 and later): POST JSON-RPC messages with `Accept: application/json, ' +
  'text/event-stream`; the answer is an event stream carrying progress, logging and server-to-client requests of ' +
  'the call, then its result. `initialize` returns `Mcp-Session-Id`; send it on every later request. Listing needs ' +
  '`mcp:read`, `tools/call` needs `mcp:write`. Use an MCP client (SDK, Inspector, IDE), not this page.';

/** The MCP front door over HTTP: thin; McpDispatcher classifies each request and hands it to its protocol family. */
@ApiTags('MCP endpoint')
@ApiExtraModels(McpJsonRpcMessageDto)
@UseFilters(McpAuthFilter)
// After the global AuthGuard (credential, rate limit, `mcp:read`): the Host/Origin check, then `mcp:write` for tools/call.
@UseGuards(DnsRebindingGuard, ToolCallScopeGuard)
@Controller()
export class McpEndpointController {
  constructor(private readonly dispatcher: McpDispatcher) {}

  @Post('mcp')
  @Authenticated({ scopes: ['mcp:read'] })
  @ApiOperation({ summary: 'MCP endpoint: every server you may use (namespaced)', description: STREAMABLE })
  @ApiBody({ type: McpJsonRpcMessageDto })
  @ApiProduces('text/event-stream', 'application/json')
  @ApiOkResponse({ description: 'An event stream of JSON-RPC messages (202 for answers and notifications only)' })
  @ApiErrorResponses(400, 404, 503)
  post(@Req() request: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    return this.dispatcher.dispatch(request, reply, { kind: 'mcp', view: AGGREGATED });
  }

  @Get('mcp')
  @Authenticated({ scopes: ['mcp:read'] })
  @ApiOperation({
    summary: 'MCP endpoint: the session stream',
    description: 'Opens the standalone event stream of a session (list_changed, resource updates, log messages).',
  })
  @ApiProduces('text/event-stream')
  @ApiOkResponse({ description: 'An event stream of JSON-RPC notifications' })
  @ApiErrorResponses(400, 404)
  stream(@Req() request: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    return this.dispatcher.dispatch(request, reply, { kind: 'mcp', view: AGGREGATED });
  }

  @Delete('mcp')
  @Authenticated({ scopes: ['mcp:read'] })
  @ApiOperation({ summary: 'MCP endpoint: end a session', description: 'Ends the session named by `Mcp-Session-Id`.' })
  @ApiOkResponse({ description: 'Session ended' })
  @ApiErrorResponses(400, 404)
  end(@Req() request: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    return this.dispatcher.dispatch(request, reply, { kind: 'mcp', view: AGGREGATED });
  }

  @Post('mcp/:serverId')
  @Authenticated({ scopes: ['mcp:read'], serverParam: 'serverId' })
  @ApiOperation({
    summary: 'MCP endpoint of one server (its own names)',
    description: `${STREAMABLE} The client sees the upstream as it would directly, behind the gateway's auth, limits, audit and metrics.`,
  })
  @ApiBody({ type: McpJsonRpcMessageDto })
  @ApiProduces('text/event-stream', 'application/json')
  @ApiOkResponse({ description: 'An event stream of JSON-RPC messages (202 for answers and notifications only)' })
  @ApiErrorResponses(400, 404, 503)
  postServer(
    @Param() { serverId }: McpServerParamDto,
    @Req() request: FastifyRequest,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    return this.dispatcher.dispatch(request, reply, { kind: 'mcp', view: serverId });
  }

  @Get('mcp/:serverId')
  @Authenticated({ scopes: ['mcp:read'], serverParam: 'serverId' })
  @ApiOperation({ summary: 'MCP endpoint of one server: the session stream' })
  @ApiProduces('text/event-stream')
  @ApiOkResponse({ description: 'An event stream of JSON-RPC notifications' })
  @ApiErrorResponses(400, 404)
  streamServer(
    @Param() { serverId }: McpServerParamDto,
    @Req() request: FastifyRequest,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    return this.dispatcher.dispatch(request, reply, { kind: 'mcp', view: serverId });
  }

  @Delete('mcp/:serverId')
  @Authenticated({ scopes: ['mcp:read'], serverParam: 'serverId' })
  @ApiOperation({ summary: 'MCP endpoint of one server: end a session' })
  @ApiOkResponse({ description: 'Session ended' })
  @ApiErrorResponses(400, 404)
  endServer(
    @Param() { serverId }: McpServerParamDto,
    @Req() request: FastifyRequest,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    return this.dispatcher.dispatch(request, reply, { kind: 'mcp', view: serverId });
  }

  @Get('sse')
  @Authenticated({ scopes: ['mcp:read'] })
  @ApiOperation({
    summary: 'Legacy MCP HTTP+SSE (protocol 2024-11-05): open a session',
    description:
      'An event stream whose first `endpoint` event names the URL to POST messages to (`/messages?sessionId=`).',
  })
  @ApiProduces('text/event-stream')
  @ApiOkResponse({ description: 'An event stream' })
  @ApiErrorResponses(503)
  openLegacy(@Req() request: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    return this.dispatcher.dispatch(request, reply, { kind: 'legacy-open' });
  }

  @Post('messages')
  @Authenticated({ scopes: ['mcp:read'] })
  @ApiOperation({ summary: 'Legacy MCP HTTP+SSE: a message of a session (answers arrive on its event stream)' })
  @ApiBody({ type: McpJsonRpcMessageDto })
  @ApiOkResponse({ description: '202 Accepted' })
  @ApiErrorResponses(400, 404)
  postLegacy(
    @Query() { sessionId }: LegacySessionQueryDto,
    @Req() request: FastifyRequest,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    return this.dispatcher.dispatch(request, reply, { kind: 'legacy-post', sessionId });
  }
}
