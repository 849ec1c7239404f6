import { Controller, Get, Headers, HttpCode, Param, Post, Res } from '@nestjs/common';
import { ApiHeader, ApiOkResponse, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import type { Readable } from 'node:stream';
import { Authenticated } from 'src/auth/authenticated.decorator';
import { CurrentPrincipal } from 'src/auth/current-principal.decorator';
import type { Principal } from 'src/auth/principal';
import { ApiErrorResponses } from 'src/common/errors/api-error-responses.decorator';
import { AppException } from 'src/common/errors/app.exception';
import { ExecutionIdParamDto } from 'src/executions/dto/execution.dto';
import { JobCancelledDto } from './dto/job.dto';
import { prepareEventStream } from './event-stream';
import { JobsService } from './jobs.service';

const EVENTS_EXAMPLE =
  'id: 1\nevent: status\ndata: {"execution_id":"…","status":"running","server_id":"everything","tool_name":"trigger-long-running-operation","started_at":"…"}\n\n' +
  'id: 2\nevent: progress\ndata: {"execution_id":"…","progress":1,"total":5}\n\n' +
  'id: 3\nevent: log\ndata: {"execution_id":"…","level":"info","data":"step 1 done"}\n\n' +
  'id: 7\nevent: result\ndata: {"execution_id":"…","status":"completed","result":{"content":[…],"is_error":false},…}\n\n';

@ApiTags('Executions')
@Controller('api/executions')
export class JobsController {
  constructor(private readonly jobs: JobsService) {}

  @Get(':id/events')
  @Authenticated({ scopes: ['mcp:read'] })
  @ApiOperation({
    summary: 'Follow an execution (Server-Sent Events)',
    description:
      'Events of a job started with `"mode":"async"` (or `Prefer: respond-async`): `status` (first), `progress` ' +
      '(`progress`, `total`, `message` of the upstream progress notifications), `log` (log messages the server sent ' +
      'while the job ran: MCP does not tie them to a call), then one final event: `result` (the execution result), ' +
      '`error` (`{code,message,details}`), `cancelled` or `interrupted`; the stream ends after it. `id:` is a sequence ' +
      'number: reconnect with `Last-Event-ID` to get only what came after. A job kept no longer in memory (10 min after ' +
      'it ended) answers its final event from the record; a job running on another gateway instance gets a `status` ' +
      'event, then its final event once its record has one. 404 for an unknown id or one of another caller.',
  })
  @ApiHeader({ name: 'Last-Event-ID', required: false, description: 'Resume after this event id' })
  @ApiProduces('text/event-stream')
  @ApiOkResponse({
    description: 'An event stream',
    content: { 'text/event-stream': { schema: { type: 'string' }, example: EVENTS_EXAMPLE } },
  })
  @ApiErrorResponses(400, 404)
  async events(
    @Param() { id }: ExecutionIdParamDto,
    @Headers('last-event-id') lastEventId: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
    @CurrentPrincipal() principal?: Principal,
  ): Promise<Readable> {
    const after = parseLastEventId(lastEventId);
    const stream = await this.jobs.stream(id, principal, after);
    prepareEventStream(reply);
    return stream;
  }

  @Post(':id/cancel')
  @Authenticated({ scopes: ['mcp:write'] })
  @HttpCode(200)
  @ApiOperation({
    summary: 'Cancel a running execution',
    description:
      'The upstream gets `notifications/cancelled` for the call, and the job ends `cancelled` (its record: `failed`, ' +
      'with the cancellation as its error). A job of another gateway instance is cancelled through it (PostgreSQL ' +
      'NOTIFY), answered once its record has ended (504 if that instance does not confirm within 5 s). 409 when it has ' +
      'already finished; 404 for an unknown id or one of another caller.',
  })
  @ApiOkResponse({ type: JobCancelledDto })
  @ApiErrorResponses(400, 404, 409, 504)
  async cancel(
    @Param() { id }: ExecutionIdParamDto,
    @CurrentPrincipal() principal?: Principal,
  ): Promise<JobCancelledDto> {
    const job = await this.jobs.cancel(id, principal);
    return { execution_id: job.id, status: 'cancelled', message: 'Cancelled by the caller' };
  }
}

function parseLastEventId(value: string | undefined): number | undefined {
  if (value === undefined || value === '') return undefined;
  if (!/^\d{1,9}$/.test(value)) throw AppException.invalid('Last-Event-ID must be an event id of this stream');
  return Number(value);
}
