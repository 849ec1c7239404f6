import { Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { isJSONRPCRequest } from '@modelcontextprotocol/sdk/types.js';
import { createMcpHandler, type McpHttpHandler, type McpRequestContext } from '@modelcontextprotocol/server';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { REQUEST_ID_HEADER } from 'src/common/http/request-id';
import { ServersService } from 'src/servers/servers.service';
import { AGGREGATED } from '../catalog-view';
import { McpEndpointMetrics } from '../mcp-endpoint.metrics';
import { type StatelessExchange, StatelessServerFactory } from '../stateless-server';
import { ListenStreams } from '../subscriptions/listen-streams';
import { DirectStatelessCall } from './direct-stateless-call';
import { bodyItems } from './http-messages';
import type { McpTransportHandler } from './mcp-transport.handler';
import type { McpRoute } from './protocol-family';
import { toWebRequest, writeWebResponse } from './web-exchange';

/** Where the exchange of a request travels through the SDK to the server factory (the SDK passes `authInfo` on). */
const EXCHANGE = 'globalmcp/exchange';

/**
 * MCP 2026-07-28 on `/mcp` and `/mcp/{server_id}` (ADR 0006): stateless, POST only. SDK 2's `createMcpHandler`
 * (modern-only: `legacy: 'reject'`; the 2025 revisions have their own handler on the same URL) validates the request
 * (`_meta` envelope, `MCP-Protocol-Version`/`Mcp-Method`/`Mcp-Name` against the body, supported version; GET and
 * DELETE 405) and frames the answer; StatelessServerFactory answers each method with the 2025 path's handlers.
 *
 * Nothing is read from or written to a session store: any replica serves any request. Authentication, scopes, the
 * allow-lists, rate limits and the DNS-rebinding check ran before (route guards); argument validation, audit and
 * metrics of a tool call are the call pipeline's.
 */
@Injectable()
export class StatelessHandler implements McpTransportHandler, OnApplicationShutdown {
  private readonly logger = new Logger('McpFrontDoor');
  private readonly modern: McpHttpHandler;

  constructor(
    private readonly servers: ServersService,
    private readonly factory: StatelessServerFactory,
    private readonly metrics: McpEndpointMetrics,
    private readonly listens: ListenStreams,
    private readonly direct: DirectStatelessCall,
  ) {
    this.modern = createMcpHandler((ctx) => this.factory.build(exchangeOf(ctx)), {
      legacy: 'reject',
      // Refusals (bad envelope, header mismatch, unsupported version) are answered to the client; debug here.
      onerror: (error) => this.logger.debug(`MCP 2026-07-28: ${error.message}`),
    });
  }

  async onApplicationShutdown(): Promise<void> {
    await this.modern.close();
  }

  async handle(request: FastifyRequest, reply: FastifyReply, route: McpRoute): Promise<void> {
    if (route.kind !== 'mcp') throw new Error(`MCP 2026-07-28 is not served on the ${route.kind} route`);
    if (route.view !== AGGREGATED) this.servers.assertMcpView(route.view);
    if (request.method === 'POST' && request.body !== undefined && request.body !== null) {
      for (const m of bodyItems(request.body)) if (isJSONRPCRequest(m)) this.metrics.message(m.method);
    }
    const call = DirectStatelessCall.eligible(request);
    if (call && (await this.direct.answer(request, reply, call, route.view))) return;
    const hangUp = new AbortController();
    reply.hijack();
    const raw = reply.raw;
    raw.once('close', () => {
      if (!raw.writableFinished) hangUp.abort(new Error('client disconnected'));
    });
    const exchange: StatelessExchange = { principal: request.principal, view: route.view, signal: hangUp.signal };
    const options = {
      parsedBody: request.body,
      // Pass-through to the server factory only; the SDK derives nothing from it. The credential itself stays out.
      authInfo: {
        token: '',
        clientId: request.principal?.id ?? 'anonymous',
        scopes: [...(request.principal?.scopes ?? [])],
        extra: { [EXCHANGE]: exchange },
      },
    };
    const web = toWebRequest(request, hangUp.signal);
    // A listen stream outlives the request cycle of the others: its own SDK handler (subscriptions/listen-streams.ts).
    const response = ListenStreams.claims(request.body)
      ? await this.listens.serve(web, options, exchange)
      : await this.modern.fetch(web, options);
    await writeWebResponse(response, raw, { [REQUEST_ID_HEADER]: String(request.id) });
  }
}

function exchangeOf(ctx: McpRequestContext): StatelessExchange {
  const exchange = ctx.authInfo?.extra?.[EXCHANGE] as StatelessExchange | undefined;
  if (!exchange) throw new Error('MCP 2026-07-28 request without its exchange');
  return exchange;
}
