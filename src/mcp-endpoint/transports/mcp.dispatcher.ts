import { Injectable } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { LegacySseHandler } from './legacy-sse.handler';
import type { McpTransportHandler } from './mcp-transport.handler';
import { classify, type McpRoute, type ProtocolFamily } from './protocol-family';
import { StreamableHttpHandler } from './streamable-http.handler';

/**
 * The front door's one entry: classifies each request (`classify`, by its own content) and hands it to the
 * transport handler of its protocol family. A family without a handler of its own does not compile (the record is
 * total), so a new revision is one more branch in `classify` and one more handler here.
 */
@Injectable()
export class McpDispatcher {
  private readonly handlers: Record<ProtocolFamily, McpTransportHandler>;

  constructor(streamable: StreamableHttpHandler, legacy: LegacySseHandler) {
    this.handlers = {
      'streamable-http-2025': streamable,
      // The 2026-07-28 handler (issue 13) goes here. Until then such a request takes the 2025 path, which answers it
      // as it always has (unsupported protocol version, or a plain request without a session).
      'stateless-2026-07-28': streamable,
      'legacy-http-sse': legacy,
    };
  }

  dispatch(request: FastifyRequest, reply: FastifyReply, route: McpRoute): Promise<void> {
    return this.handlers[classify(route, request)].handle(request, reply, route);
  }
}
