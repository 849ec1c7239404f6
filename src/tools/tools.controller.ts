import { Body, Controller, Get, HttpCode, Param, Post, Query, Res } from '@nestjs/common';
import { RouteConfig } from '@nestjs/platform-fastify';
import { ApiAcceptedResponse, ApiBody, ApiHeader, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import type { Readable } from 'node:stream';
import { JobAcceptedDto, jobLinks, type JobState } from 'src/jobs/dto/job.dto';
import { prepareEventStream } from 'src/jobs/event-stream';
import { JobsService } from 'src/jobs/jobs.service';
import { ApiErrorResponses } from 'src/common/errors/api-error-responses.decorator';
import { abortOnClientDisconnect } from 'src/common/http/client-disconnect';
import { acceptsExplicitly, hasPreference } from 'src/common/http/preferences';
import { ServerIdParamDto } from 'src/servers/dto/server-id.dto';
import { BatchRunner } from 'src/calls/batch-runner';
import type { CallRequest } from 'src/calls/call.types';
import { CallPipeline } from 'src/calls/call-pipeline';
import { ExecutionResultDto, toExecutionResultDto } from 'src/executions/dto/execution-result.dto';
import { BatchRequestDto, BatchResultDto } from 'src/calls/dto/batch.dto';
import {
  ExecuteToolDto,
  type ExecutionMode,
  ListToolsQueryDto,
  ServerToolCallQueryDto,
  ServerToolParamDto,
  ToolDto,
  ToolListDto,
  ToolNameParamDto,
  ToolQueryDto,
} from './dto/tool.dto';
import {
  IDEMPOTENCY_KEY_API_HEADER,
  IDEMPOTENCY_KEY_HEADER,
  IdempotencyKey,
  oneIdempotencyKey,
  ToolArgumentsPipe,
} from './dto/server-tool-call';
import { ToolsService } from './tools.service';
import { EMPTY_JSON_BODY_IS_EMPTY_OBJECT } from 'src/common/http/empty-json-body';
import { Authenticated } from 'src/auth/authenticated.decorator';
import { CurrentPrincipal } from 'src/auth/current-principal.decorator';
import type { Principal } from 'src/auth/principal';

const PREFER_HEADER = {
  name: 'Prefer',
  required: false,
  description: '`respond-async`: run as a job (same as mode `async`); answered with `Preference-Applied`',
  // No example: Swagger UI would fill it in on "Try it out" and turn every try into a job.
  schema: { type: 'string' },
};

const ACCEPTED_DESCRIPTION =
  'Started as a job (mode `async` or `Prefer: respond-async`); `Location` is its execution. An idempotent repeat ' +
  "answers the first call's execution and state.";

const ASYNC_AND_SSE =
  '\n\n**Jobs:** with mode `async` (or `Prefer: respond-async`) the answer is 202 with `execution_id` and a ' +
  '`Location` at once; the call goes on when the client leaves. Follow it with GET /api/executions/{id} or the ' +
  'Server-Sent Events of GET /api/executions/{id}/events (progress, logs, result; resumable with `Last-Event-ID`), ' +
  'stop it with POST /api/executions/{id}/cancel. Jobs do not survive a gateway restart (status `interrupted`).' +
  '\n\n**Streaming:** a synchronous call with `Accept: text/event-stream` is answered with the same events as ' +
  'they happen, ending with the result; closing the stream cancels the call.';

@ApiTags('Tools')
@Controller('api')
export class ToolsController {
  constructor(
    private readonly tools: ToolsService,
    private readonly pipeline: CallPipeline,
    private readonly batches: BatchRunner,
    private readonly jobs: JobsService,
  ) {}

  @Get('tools')
  @Authenticated({ scopes: ['mcp:read'] })
  @ApiOperation({
    summary: 'List tools across servers',
    description: 'Filter by server, category, or text in name/description.',
  })
  @ApiOkResponse({ type: ToolListDto })
  @ApiErrorResponses(400, 404)
  listTools(@Query() query: ListToolsQueryDto, @CurrentPrincipal() principal?: Principal): ToolListDto {
    return this.tools.list(query, principal);
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
    @CurrentPrincipal() principal?: Principal,
  ): ToolDto {
    return this.tools.get(name, server_id, principal);
  }

  @Post('tools/:name/execute')
  @Authenticated({ scopes: ['mcp:write'] })
  @HttpCode(200)
  @ApiOperation({
    summary: 'Execute a tool',
    description:
      "Parameters are validated against the tool's input schema before the upstream is called. A result with `is_error: true` " +
      'is a completed call whose tool reported a failure. A client that disconnects cancels the upstream call. ' +
      `The idempotency key may also come as the \`${IDEMPOTENCY_KEY_HEADER}\` header (both given: they must agree).` +
      ASYNC_AND_SSE,
  })
  @ApiHeader(PREFER_HEADER)
  @ApiHeader(IDEMPOTENCY_KEY_API_HEADER)
  @ApiOkResponse({ type: ExecutionResultDto })
  @ApiAcceptedResponse({ type: JobAcceptedDto, description: ACCEPTED_DESCRIPTION })
  @ApiErrorResponses(400, 404, 409, 413, 502, 503, 504)
  executeTool(
    @Param() { name }: ToolNameParamDto,
    @Body() body: ExecuteToolDto,
    @IdempotencyKey() headerKey: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
    @CurrentPrincipal() principal?: Principal,
  ): Promise<ExecutionResultDto | JobAcceptedDto | Readable> {
    return this.dispatch(
      {
        toolName: name,
        serverId: body.server_id,
        arguments: body.parameters,
        timeoutMs: body.timeout,
        idempotencyKey: oneIdempotencyKey(body.idempotency_key, headerKey),
        principal,
        channel: 'rest',
      },
      body.mode,
      reply,
    );
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
    @CurrentPrincipal() principal?: Principal,
  ): Promise<BatchResultDto> {
    return this.batches.run(body, { principal, signal: abortOnClientDisconnect(reply) });
  }

  @Get('servers/:id/tools')
  @Authenticated({ scopes: ['mcp:read'], serverParam: 'id' })
  @ApiOperation({
    summary: "A server's tools",
    deprecated: true,
    description: 'Deprecated: use `GET /api/tools?server_id={id}`, which gives the same list.',
  })
  @ApiOkResponse({ type: ToolListDto })
  @ApiErrorResponses(400, 404)
  listServerTools(@Param() { id }: ServerIdParamDto, @CurrentPrincipal() principal?: Principal): ToolListDto {
    return this.tools.list({ server_id: id }, principal);
  }

  @Post('servers/:id/tools/:tool')
  @Authenticated({ scopes: ['mcp:write'], serverParam: 'id' })
  @HttpCode(200)
  @RouteConfig({ [EMPTY_JSON_BODY_IS_EMPTY_OBJECT]: true })
  @ApiOperation({
    summary: "Execute one server's tool",
    description:
      "The body is the tool's arguments themselves (a JSON object, validated against the tool's input schema; no " +
      'body: `{}`). There is no wrapper: a body `{"parameters":{...}}` is a call with one argument named ' +
      '`parameters`. The options of POST /api/tools/{name}/execute are the query parameters `timeout` and `mode` ' +
      `and the header \`${IDEMPOTENCY_KEY_HEADER}\`. The document also lists one typed operation per tool of the ` +
      'live catalog (`POST /api/servers/<server>/tools/<tool>`, tag `Tools: <server>`) whose body schema is that ' +
      "tool's input schema." +
      ASYNC_AND_SSE,
  })
  @ApiHeader(PREFER_HEADER)
  @ApiHeader(IDEMPOTENCY_KEY_API_HEADER)
  @ApiBody({
    required: false,
    description: "The tool's arguments",
    schema: { type: 'object', additionalProperties: true, example: { message: 'hello' } },
  })
  @ApiOkResponse({ type: ExecutionResultDto })
  @ApiAcceptedResponse({ type: JobAcceptedDto, description: ACCEPTED_DESCRIPTION })
  @ApiErrorResponses(400, 404, 409, 413, 502, 503, 504)
  executeServerTool(
    @Param() { id, tool }: ServerToolParamDto,
    @Body(ToolArgumentsPipe) parameters: Record<string, unknown>,
    @Query() { timeout, mode }: ServerToolCallQueryDto,
    @IdempotencyKey() idempotencyKey: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
    @CurrentPrincipal() principal?: Principal,
  ): Promise<ExecutionResultDto | JobAcceptedDto | Readable> {
    return this.dispatch(
      {
        toolName: tool,
        serverId: id,
        arguments: parameters,
        timeoutMs: timeout,
        idempotencyKey,
        principal,
        channel: 'rest',
      },
      mode,
      reply,
    );
  }

  /**
   * One call, three ways: a job (202 + Location) for `mode: async` or `Prefer: respond-async`; a synchronous call
   * streamed as SSE (progress, logs, result) for `Accept: text/event-stream`; else the plain synchronous answer.
   */
  private async dispatch(
    request: CallRequest,
    mode: ExecutionMode | undefined,
    reply: FastifyReply,
  ): Promise<ExecutionResultDto | JobAcceptedDto | Readable> {
    const principal = request.principal;
    const headers = reply.request.headers;
    const preferAsync = hasPreference(headers.prefer, 'respond-async');
    if (mode === 'async' || (mode === undefined && preferAsync)) {
      const prepared = await this.pipeline.prepare(request);
      let status: JobState = prepared.repeatOf ?? 'running';
      if (prepared.run) status = this.jobs.start(prepared, principal).state;
      void reply.status(202).header('location', `/api/executions/${prepared.executionId}`);
      if (preferAsync) void reply.header('preference-applied', 'respond-async');
      return {
        execution_id: prepared.executionId,
        status,
        server_id: prepared.serverId,
        tool_name: prepared.toolName,
        started_at: prepared.startedAt.toISOString(),
        links: jobLinks(prepared.executionId),
      };
    }
    if (acceptsExplicitly(headers.accept, 'text/event-stream')) {
      const prepared = await this.pipeline.prepare(request);
      if (prepared.run) this.jobs.start(prepared, principal);
      const stream = await this.jobs.stream(prepared.executionId, principal, undefined, { cancelOnClose: true });
      prepareEventStream(reply);
      return stream;
    }
    return toExecutionResultDto(await this.pipeline.call(request, { signal: abortOnClientDisconnect(reply) }));
  }
}
