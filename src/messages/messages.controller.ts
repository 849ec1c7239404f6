import { Body, Controller, HttpCode, HttpStatus, type MessageEvent, Param, Post, Res, Sse } from '@nestjs/common';
import { ApiAcceptedResponse, ApiOkResponse, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import type { Observable } from 'rxjs';
import { ApiErrorResponses } from 'src/common/errors/api-error-responses.decorator';
import { abortOnClientDisconnect } from 'src/common/http/client-disconnect';
import { REQUEST_ID_HEADER } from 'src/common/http/request-id';
import { ServerIdParamDto } from 'src/servers/dto/server-id.dto';
import { JsonRpcMessageDto, JsonRpcResponseDto } from './dto/json-rpc.dto';
import { MessagesService } from './messages.service';
import { NotificationStreamsService } from './notification-streams.service';
import { Authenticated } from 'src/auth/authenticated.decorator';

const SSE_EXAMPLE =
  'event: notifications/message\nid: 1\ndata: {"jsonrpc":"2.0","method":"notifications/message","params":{"level":"info","data":"Info-level message"}}\n\n' +
  ': heartbeat\n\n';

@ApiTags('Messages')
@Controller('api/servers')
export class MessagesController {
  constructor(
    private readonly messages: MessagesService,
    private readonly streams: NotificationStreamsService,
  ) {}

  @Post(':id/messages')
  @Authenticated({ scopes: ['mcp:admin'], serverParam: 'id' })
  @HttpCode(200)
  @ApiOperation({
    summary: 'Send a raw JSON-RPC message to a server',
    description:
      'A request (with `id`) is answered with a JSON-RPC response carrying the same `id`. **An error returned by the upstream ' +
      'is a JSON-RPC response too**: HTTP 200 with `{jsonrpc, id, error:{code, message, data}}` exactly as the upstream sent it. ' +
      'The error envelope (4xx/5xx) is only for errors of the gateway: invalid message, unknown server, upstream down (503), ' +
      'no answer in time (504), connection lost or broken protocol (502). A notification (no `id`) is forwarded and answered ' +
      '202 without a body. `initialize` and `notifications/initialized` are refused (the gateway owns the session). A client ' +
      'that disconnects cancels the upstream request.',
  })
  @ApiOkResponse({ type: JsonRpcResponseDto, description: 'The JSON-RPC response: `result`, or the upstream `error`' })
  @ApiAcceptedResponse({ description: 'Notification forwarded (no body)' })
  @ApiErrorResponses(400, 404, 413, 502, 503, 504)
  async sendMessage(
    @Param() { id }: ServerIdParamDto,
    @Body() message: JsonRpcMessageDto,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<JsonRpcResponseDto | undefined> {
    const response = await this.messages.send(id, message, abortOnClientDisconnect(reply));
    if (!response) void reply.status(HttpStatus.ACCEPTED);
    return response;
  }

  @Sse(':id/notifications')
  @Authenticated({ scopes: ['mcp:read'], serverParam: 'id' })
  @ApiOperation({
    summary: "Stream a server's notifications (Server-Sent Events)",
    description:
      'Every notification the upstream sends (logging, resources/updated, list_changed, progress nobody asked for ...): ' +
      '`event:` the method, `id:` a sequence number of this stream, `data:` the JSON-RPC notification. A `: heartbeat` comment ' +
      'every 15 s. Nothing is replayed: only what arrives while connected. The stream ends when the server is removed or ' +
      'the gateway stops.',
  })
  @ApiProduces('text/event-stream')
  @ApiOkResponse({
    description: 'An event stream',
    content: { 'text/event-stream': { schema: { type: 'string' }, example: SSE_EXAMPLE } },
  })
  @ApiErrorResponses(400, 404)
  streamNotifications(
    @Param() { id }: ServerIdParamDto,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Observable<MessageEvent> {
    // The stream's headers are written by Nest, not through Fastify's onSend hook that sets X-Request-Id elsewhere.
    void reply.header(REQUEST_ID_HEADER, reply.request.id);
    return this.streams.stream(id);
  }
}
