import { Inject, Injectable } from '@nestjs/common';
import { type EventStore, StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import {
  isInitializeRequest,
  isJSONRPCErrorResponse,
  isJSONRPCRequest,
  isJSONRPCResultResponse,
  type JSONRPCRequest,
} from '@modelcontextprotocol/sdk/types.js';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppException } from 'src/common/errors/app.exception';
import { REQUEST_ID_HEADER } from 'src/common/http/request-id';
import { APP_CONFIG } from 'src/config/config.module';
import type { AppConfig } from 'src/config/config.schema';
import { ServersService } from 'src/servers/servers.service';
import { AGGREGATED } from '../catalog-view';
import type { OpenStream } from '../client-scope';
import { McpEndpointMetrics } from '../mcp-endpoint.metrics';
import { McpEventStore } from '../mcp-event.store';
import { McpServerFactory } from '../mcp-server.factory';
import { McpSessionRelay } from '../mcp-session.relay';
import type { McpSession } from '../mcp-session.store';
import { McpSessions, scopeIdOf } from '../mcp-sessions.service';
import { DirectToolCall } from './direct-tool-call';
import { checkAccept, parseMessages, single } from './http-messages';
import type { McpTransportHandler } from './mcp-transport.handler';
import type { McpRoute } from './protocol-family';

/** Requests during which the upstream may send progress, log messages or requests for the client. */
const CALLS = new Set(['tools/call', 'resources/read', 'prompts/get', 'completion/complete']);
/** The `retry` hint of resumable streams: how long a client waits before resuming one the gateway closed. */
const RETRY_MS = 1000;
/** A resumed stream waits at most this long for new events before it is closed for the next poll. */
const MAX_FOLLOW_MS = 5000;

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
  private readonly pollAfterMs: number;

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly servers: ServersService,
    private readonly sessions: McpSessions,
    private readonly relay: McpSessionRelay,
    private readonly factory: McpServerFactory,
    private readonly metrics: McpEndpointMetrics,
    private readonly events: McpEventStore,
    private readonly direct: DirectToolCall,
  ) {
    this.keepAliveMs = Math.max(1000, config.mcp.endpoint.sessionIdleTimeout / 2);
    this.pollAfterMs = config.mcp.endpoint.ssePollAfter;
  }

  async handle(request: FastifyRequest, reply: FastifyReply, route: McpRoute): Promise<void> {
    if (route.kind !== 'mcp') throw new Error(`Streamable HTTP does not serve the ${route.kind} route`);
    const view = route.view;
    if (view !== AGGREGATED) this.servers.assertMcpView(view);
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
    const call = session && !streaming ? DirectToolCall.eligible(request, messages) : undefined;
    if (call && session) return this.direct.answer(request, reply, call, session, view);
    const resuming = request.method === 'GET' && single(request.headers['last-event-id']) !== undefined;
    // Event ids, `retry` and replay (SEP-1699) for a session's event streams; the SDK skips the priming event for
    // clients before 2025-11-25, which could not resume.
    const store = session ? this.events.forSession(session.id, Math.min(this.pollAfterMs, MAX_FOLLOW_MS)) : undefined;
    // A resumed stream is one poll: closed once its replay (and the wait for the response) is over.
    const eventStore: EventStore | undefined = store && {
      ...store,
      replayEventsAfter: (lastEventId, options) =>
        store.replayEventsAfter(lastEventId, options).finally(() => setTimeout(() => void transport.close(), 0)),
    };
    // A plain JSON answer when nothing but the result can come back (cheaper than an event stream per request).
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: undefined,
      enableJsonResponse: !streaming,
      ...(eventStore && { eventStore, retryInterval: RETRY_MS }),
    });
    const polling = this.pollWhenLong(request, transport, streaming && eventStore !== undefined, messages);
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
      if (stream) this.relay.streamClosed(stream);
      // Closed by the gateway for polling: the calls go on, and the server closes once they have answered.
      if (polling.closed) return void polling.done.then(() => server.close()).catch(() => undefined);
      polling.cancel();
      if (!raw.writableFinished) hangUp.abort(new Error('client disconnected'));
      void server.close().catch(() => undefined);
    });
    if (request.method === 'GET' && session && !resuming) {
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

  /**
   * After `ssePollAfter`, closes the event stream of calls still running (the client resumes it with
   * `Last-Event-ID`, on any replica). `done` settles once every call of the request has answered (into the store).
   */
  private pollWhenLong(
    request: FastifyRequest,
    transport: StreamableHTTPServerTransport,
    resumable: boolean,
    messages: unknown[],
  ): { closed: boolean; done: Promise<void>; cancel(): void } {
    const pending = new Set(messages.filter((m) => isJSONRPCRequest(m)).map((m) => m.id));
    const version = single(request.headers['mcp-protocol-version']) ?? '';
    const state = { closed: false, done: Promise.resolve(), cancel: () => undefined as void };
    if (!resumable || this.pollAfterMs <= 0 || version < '2025-11-25' || pending.size === 0) return state;
    let answered!: () => void;
    state.done = new Promise<void>((resolve) => (answered = resolve));
    const send = transport.send.bind(transport);
    transport.send = async (message, options) => {
      await send(message, options);
      if (isJSONRPCResultResponse(message) || isJSONRPCErrorResponse(message)) {
        if (message.id !== undefined) pending.delete(message.id);
        if (pending.size === 0) answered();
      }
    };
    const timer = setTimeout(() => {
      state.closed = true;
      for (const id of pending) transport.closeSSEStream(id);
    }, this.pollAfterMs);
    timer.unref();
    state.cancel = () => clearTimeout(timer);
    void state.done.then(() => clearTimeout(timer));
    return state;
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
