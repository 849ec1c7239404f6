import { Injectable } from '@nestjs/common';
import { SSEServerTransport } from '@modelcontextprotocol/sdk/server/sse.js';
import { isInitializeRequest, isJSONRPCNotification, isJSONRPCRequest } from '@modelcontextprotocol/sdk/types.js';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppException } from 'src/common/errors/app.exception';
import { REQUEST_ID_HEADER } from 'src/common/http/request-id';
import { AGGREGATED } from '../catalog-view';
import { McpEndpointMetrics } from '../mcp-endpoint.metrics';
import { McpServerFactory } from '../mcp-server.factory';
import { McpSessionRelay } from '../mcp-session.relay';
import { McpSessions } from '../mcp-sessions.service';
import { parseMessages } from './http-messages';
import type { McpTransportHandler } from './mcp-transport.handler';
import type { McpRoute } from './protocol-family';

/**
 * The legacy HTTP+SSE pair (protocol 2024-11-05), aggregated view only: `GET /sse` opens a session whose SSE
 * connection stays on this replica and carries every answer; `POST /messages?sessionId=` goes to that connection,
 * here or through the session bus on the replica holding it.
 */
@Injectable()
export class LegacySseHandler implements McpTransportHandler {
  /** SSE connections held here, by session id. */
  private readonly transports = new Map<string, SSEServerTransport>();

  constructor(
    private readonly sessions: McpSessions,
    private readonly relay: McpSessionRelay,
    private readonly factory: McpServerFactory,
    private readonly metrics: McpEndpointMetrics,
  ) {}

  handle(request: FastifyRequest, reply: FastifyReply, route: McpRoute): Promise<void> {
    switch (route.kind) {
      case 'legacy-open':
        return this.open(request, reply);
      case 'legacy-post':
        return this.post(request, reply, route.sessionId);
      case 'mcp':
        throw new Error('The legacy HTTP+SSE handler does not serve /mcp');
    }
  }

  /** `GET /sse`: opens a legacy session (aggregated view); the client POSTs to `/messages?sessionId=`. */
  private async open(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const principal = request.principal;
    const transport = new SSEServerTransport('/messages', reply.raw);
    const session = await this.sessions.open(principal, AGGREGATED, undefined, transport.sessionId);
    const hangUp = new AbortController();
    const scope = this.sessions.scope({
      session,
      principal,
      view: AGGREGATED,
      streaming: true,
      signal: hangUp.signal,
      send: (message) => transport.send(message),
    });
    const server = this.factory.build(scope);
    reply.hijack();
    reply.raw.setHeader(REQUEST_ID_HEADER, String(request.id));
    await server.connect(transport);
    const dispatch = transport.onmessage;
    transport.onmessage = (message, extra) => {
      if (isInitializeRequest(message)) {
        void this.sessions.initialized(session, message.params).catch(() => undefined);
      }
      if (isJSONRPCRequest(message)) {
        this.metrics.message(message.method);
        dispatch?.(message, extra);
        return;
      }
      void this.relay.deliver(session.id, AGGREGATED, [message]).then(() => {
        if (isJSONRPCNotification(message)) dispatch?.(message, extra);
      });
    };
    this.transports.set(session.id, transport);
    const release = this.relay.holdLegacy(session.id, (message) => void transport.handleMessage(message));
    const stream = this.relay.openStream(scope, () => reply.raw.destroy());
    reply.raw.once('close', () => {
      hangUp.abort(new Error('client disconnected'));
      this.transports.delete(session.id);
      release();
      this.relay.streamClosed(stream);
      void server.close().catch(() => undefined);
      void this.sessions.drop(session.id).catch(() => undefined);
    });
  }

  /** `POST /messages?sessionId=`: to the replica holding the session's SSE stream. */
  private async post(request: FastifyRequest, reply: FastifyReply, sessionId: string | undefined): Promise<void> {
    if (!sessionId) throw AppException.invalid('sessionId query parameter is required');
    await this.sessions.find(sessionId, request.principal, AGGREGATED);
    const messages = parseMessages(request.body);
    const transport = this.transports.get(sessionId);
    reply.hijack();
    if (transport) {
      await transport.handlePostMessage(request.raw, reply.raw, request.body);
      return;
    }
    await this.relay.postLegacy(sessionId, messages);
    reply.raw.writeHead(202, { [REQUEST_ID_HEADER]: String(request.id) }).end('Accepted');
  }
}
