import { Inject, Injectable } from '@nestjs/common';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest, isJSONRPCRequest, type JSONRPCRequest } from '@modelcontextprotocol/sdk/types.js';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppException } from 'src/common/errors/app.exception';
import { REQUEST_ID_HEADER } from 'src/common/http/request-id';
import { APP_CONFIG } from 'src/config/config.module';
import type { AppConfig } from 'src/config/config.schema';
import { ServersService } from 'src/servers/servers.service';
import { AGGREGATED } from '../catalog-view';
import type { OpenStream } from '../client-scope';
import { McpEndpointMetrics } from '../mcp-endpoint.metrics';
import { McpServerFactory } from '../mcp-server.factory';
import { McpSessionRelay } from '../mcp-session.relay';
import type { McpSession } from '../mcp-session.store';
import { McpSessions, scopeIdOf } from '../mcp-sessions.service';
import { checkAccept, parseMessages, single } from './http-messages';
import type { McpTransportHandler } from './mcp-transport.handler';
import type { McpRoute } from './protocol-family';

/** Requests during which the upstream may send progress, log messages or requests for the client. */
const CALLS = new Set(['tools/call', 'resources/read', 'prompts/get', 'completion/complete']);

/**
 * Streamable HTTP of the 2025 revisions on `/mcp` and `/mcp/{server_id}`: POST (requests, or answers and
 * notifications only), GET (the session's standalone stream), DELETE (end the session).
 *
 * Sessions are stateless per request (ADR 0003): each HTTP request gets a fresh SDK `Server` and transport built
 * from the session record, so any replica serves any request.
 */
@Injectable()
export class StreamableHttpHandler implements McpTransportHandler {
  private readonly keepAliveMs: number;

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly servers: ServersService,
    private readonly sessions: McpSessions,
    private readonly relay: McpSessionRelay,
    private readonly factory: McpServerFactory,
    private readonly metrics: McpEndpointMetrics,
  ) {
    this.keepAliveMs = Math.max(1000, config.mcp.endpoint.sessionIdleTimeout / 2);
  }

  async handle(request: FastifyRequest, reply: FastifyReply, route: McpRoute): Promise<void> {
    if (route.kind !== 'mcp') throw new Error(`Streamable HTTP does not serve the ${route.kind} route`);
    const view = route.view;
    if (view !== AGGREGATED) this.servers.find(view);
    const principal = request.principal;
    const headerId = single(request.headers['mcp-session-id']);

    if (request.method === 'DELETE') {
      if (headerId === undefined) throw AppException.invalid('DELETE ends a session: send Mcp-Session-Id');
      await this.sessions.end(headerId, principal, view);
      void reply.status(200).send();
      return;
    }
    checkAccept(request);

    const messages = request.method === 'POST' ? parseMessages(request.body) : [];
    const init = messages.find((m) => isInitializeRequest(m));
    let session: McpSession | undefined;
    if (init) {
      session = await this.sessions.open(principal, view, init.params);
    } else if (headerId !== undefined) {
      session = await this.sessions.find(headerId, principal, view);
    } else if (request.method === 'GET') {
      throw AppException.invalid('GET /mcp opens the stream of a session: send Mcp-Session-Id');
    }
    for (const m of messages) if (isJSONRPCRequest(m)) this.metrics.message(m.method);
    const sessionId = scopeIdOf(session);

    if (request.method === 'POST' && !messages.some((m) => isJSONRPCRequest(m))) {
      // Answers and notifications only: routed here (they may be for a call on another replica).
      await this.relay.deliver(sessionId, view, messages);
      reply.hijack();
      reply.raw.writeHead(202, { [REQUEST_ID_HEADER]: String(request.id) }).end();
      return;
    }

    const streaming = messages.some((m) => isJSONRPCRequest(m) && mayStream(m, session));
    // A plain JSON answer when nothing but the result can come back (cheaper than an event stream per request).
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: undefined,
      enableJsonResponse: !streaming,
    });
    const hangUp = new AbortController();
    const scope = this.sessions.scope({
      session,
      sessionId,
      principal,
      view,
      streaming,
      signal: hangUp.signal,
      send: (message, relatedRequestId) => transport.send(message, { relatedRequestId }),
    });
    const server = this.factory.build(scope);
    await server.connect(transport);
    reply.hijack();
    const raw = reply.raw;
    raw.setHeader(REQUEST_ID_HEADER, String(request.id));
    if (session) raw.setHeader('mcp-session-id', session.id);
    let stream: OpenStream | undefined;
    raw.once('close', () => {
      if (!raw.writableFinished) hangUp.abort(new Error('client disconnected'));
      if (stream) this.relay.streamClosed(stream);
      void server.close().catch(() => undefined);
    });
    if (request.method === 'GET' && session) {
      // One standalone stream per session on this replica: a new GET replaces the old one.
      this.relay.streamOf(sessionId)?.close();
      // A client that only listens sends no request: its open stream keeps the session alive.
      const keepAlive = setInterval(() => void this.sessions.touch(sessionId).catch(() => undefined), this.keepAliveMs);
      keepAlive.unref();
      raw.once('close', () => clearInterval(keepAlive));
      stream = this.relay.openStream(scope, () => raw.destroy());
    }
    await transport.handleRequest(request.raw, raw, request.body);
  }
}

/**
 * Whether a request's answer must be an event stream: a call with a progress token, or a call of a session whose
 * client accepts server-to-client requests (they go out on the call's stream). Everything else gets plain JSON.
 */
function mayStream(request: JSONRPCRequest, session: McpSession | undefined): boolean {
  if (!CALLS.has(request.method)) return false;
  if ((request.params as { _meta?: { progressToken?: unknown } } | undefined)?._meta?.progressToken !== undefined)
    return true;
  const caps = session?.clientCapabilities ?? {};
  return caps.sampling !== undefined || caps.elicitation !== undefined || caps.roots !== undefined;
}
