import { Injectable } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { LegacySseHandler } from './legacy-sse.handler';
import type { McpTransportHandler } from './mcp-transport.handler';
import { classify, type McpRoute, type ProtocolFamily } from './protocol-family';
import { StatelessHandler } from './stateless.handler';
import { StreamableHttpHandler } from './streamable-http.handler';

/**
 * The front door's one entry: classifies each request (`classify`, by its own content) and hands it to the
 * transport handler of its protocol family. A family without a handler of its own does not compile (the record is
 * total), so a new revision is one more branch in `classify` and one more handler here.
 */
@Injectable()
export class McpDispatcher {
  private readonly handlers: Record<ProtocolFamily, McpTransportHandler>;

  constructor(streamable: StreamableHttpHandler, stateless: StatelessHandler, legacy: LegacySseHandler) {
    this.handlers = {
      'streamable-http-2025': streamable,
      'stateless-2026-07-28': stateless,
      'legacy-http-sse': legacy,
    };
  }

  dispatch(request: FastifyRequest, reply: FastifyReply, route: McpRoute): Promise<void> {
    return this.handlers[classify(route, request)].handle(request, reply, route);
  }
}
