import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query, Req, Res } from '@nestjs/common';
import { RouteConfig } from '@nestjs/platform-fastify';
import { ApiExcludeEndpoint, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { randomBytes } from 'node:crypto';
import { Authenticated, Public } from 'src/auth/authenticated.decorator';
import { CurrentPrincipal } from 'src/auth/current-principal.decorator';
import type { Principal } from 'src/auth/principal';
import { ApiErrorResponses } from 'src/common/errors/api-error-responses.decorator';
import { AppException } from 'src/common/errors/app.exception';
import { toAppException } from 'src/common/errors/to-app-exception';
import { FORM_BODY } from 'src/common/http/form-body';
import { RateLimitService } from 'src/rate-limit/rate-limit.service';
import { translateEngineError } from 'src/mcp/engine-error';
import { confirmPage, connectedPage, errorPage } from './connection-pages';
import { ConnectionsService, START_PATH } from './connections.service';
import { CALLBACK_PATH, OAuthClients } from './oauth-clients';
import {
  ConnectionLinkDto,
  ConnectionListDto,
  ConnectionServerParamDto,
  RevokedConnectionDto,
} from './dto/connection.dto';

/** The browser-binding cookie (ADR 0011): set when a link is opened, required on the redirect back (SameSite=Lax). */
const BROWSER_COOKIE = 'gmcp_connect';
/**
 * The confirmation cookie: SameSite=Strict, its value also in the confirmation form, so the form's POST comes from the
 * page the gateway showed in this browser (a form posted from another site carries no such cookie).
 */
const CONFIRM_COOKIE = 'gmcp_connect_confirm';

/**
 * The caller's authorisations of `oauth-user` upstreams (`GET`, `DELETE /api/connections`), and the two public pages
 * a user's browser goes through to give one: the link a refused call hands out (`/api/connections/start`, which
 * confirms and then sends the browser to the authorization server) and the redirect back
 * (`/api/connections/callback`). The pages answer HTML to a browser and the error envelope to anything else.
 */
@ApiTags('Connections')
@Controller('api/connections')
export class ConnectionsController {
  constructor(
    private readonly connections: ConnectionsService,
    private readonly clients: OAuthClients,
    private readonly rateLimit: RateLimitService,
  ) {}

  @Get()
  @Authenticated({ scopes: ['mcp:read'] })
  @ApiOperation({
    summary: "List the caller's connections to upstreams that act as each user",
    description: 'Servers with `auth.mode: oauth-user` the caller authorised: scopes, expiry, when; never a token.',
  })
  @ApiOkResponse({ type: ConnectionListDto })
  listConnections(@CurrentPrincipal() principal: Principal): Promise<ConnectionListDto> {
    return this.connections.list(principal.id);
  }

  @Post(':server_id')
  @HttpCode(200)
  @Authenticated({ scopes: ['mcp:write'], serverParam: 'server_id' })
  @ApiOperation({
    summary: 'Get a link to authorise the gateway at a server that acts as each user',
    description:
      'For a server with `auth.mode: oauth-user`: a single-use link, valid 10 minutes, for the caller only; open it ' +
      'in a browser. A call to the server without an authorisation answers the same link (401 ' +
      '`UPSTREAM_AUTHORIZATION_REQUIRED`).',
  })
  @ApiOkResponse({ type: ConnectionLinkDto })
  @ApiErrorResponses(400, 404)
  connect(
    @CurrentPrincipal() principal: Principal,
    @Param() { server_id: serverId }: ConnectionServerParamDto,
  ): ConnectionLinkDto {
    return this.connections.connect({ id: principal.id, name: principal.subject }, serverId);
  }

  @Delete(':server_id')
  @Authenticated({ scopes: ['mcp:write'], serverParam: 'server_id' })
  @ApiOperation({
    summary: "Revoke the caller's connection to a server",
    description:
      'Forgets the tokens and revokes them at the authorization server where it offers RFC 7009 revocation; ' +
      'the next call to the server asks the user to authorise again.',
  })
  @ApiOkResponse({ type: RevokedConnectionDto })
  @ApiErrorResponses(400, 404)
  revokeConnection(
    @CurrentPrincipal() principal: Principal,
    @Param() { server_id: serverId }: ConnectionServerParamDto,
  ): Promise<RevokedConnectionDto> {
    return this.connections.revoke(principal.id, serverId);
  }

  @Get('client-metadata/:server_id')
  @Public()
  @ApiExcludeEndpoint()
  clientMetadata(@Param() { server_id: serverId }: ConnectionServerParamDto): Record<string, unknown> {
    // What an authorization server that takes Client ID Metadata Documents fetches: the gateway's client id is its URL.
    return this.clients.clientMetadata(serverId);
  }

  @Get('start')
  @Public()
  @ApiExcludeEndpoint()
  async start(
    @Query() query: Record<string, string | undefined>,
    @Req() request: FastifyRequest,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    await this.page(request, reply, async () => {
      // Names who and what the link is for, and asks for the proof that the person is that principal (ADR 0011).
      const link = await this.connections.describeLink(query.link);
      const nonce = randomBytes(18).toString('base64url');
      reply.header('set-cookie', cookie(request, CONFIRM_COOKIE, nonce, 'Strict', START_PATH));
      // The form's answer redirects to the authorization server: browsers hold a redirect after a form submission
      // to the page's `form-action` too, which is 'self' by default.
      reply.header(
        'content-security-policy',
        withFormAction(reply.getHeader('content-security-policy'), link.authorizationOrigin),
      );
      const who = link.principalName ? `${link.principalName} (${link.principalId})` : link.principalId;
      send(reply, 200, confirmPage(link.serverName, who, { action: START_PATH, link: query.link!, confirm: nonce }));
    });
  }

  @Post('start')
  @Public()
  @RouteConfig({ [FORM_BODY]: true })
  @ApiExcludeEndpoint()
  async confirm(
    @Body() body: Record<string, unknown> | undefined,
    @Req() request: FastifyRequest,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    await this.page(request, reply, async () => {
      const field = (name: string) => (typeof body?.[name] === 'string' ? body[name] : undefined);
      const confirm = field('confirm');
      if (!confirm || confirm !== cookiesOf(request)[CONFIRM_COOKIE])
        throw AppException.invalid(
          'This confirmation was not sent from the page the gateway showed: open the link again',
          {
            reason: 'confirmation-missing',
          },
        );
      try {
        await this.connections.proveHolder(field('link'), field('credential'));
      } catch (error) {
        // Refused proofs count against the client address, as refused credentials do at the auth guard: guessing a
        // key or token here is no cheaper than on the API.
        if (error instanceof AppException && error.status === 403)
          await this.rateLimit.consumeAnonymous(request.ip, reply);
        throw error;
      }
      const browser = randomBytes(32).toString('base64url');
      const location = await this.connections.start(field('link'), browser);
      reply.header('set-cookie', [
        cookie(request, BROWSER_COOKIE, browser, 'Lax', CALLBACK_PATH),
        cookie(request, CONFIRM_COOKIE, '', 'Strict', START_PATH, 0),
      ]);
      reply.header('cache-control', 'no-store').redirect(location, 303);
    });
  }

  @Get('callback')
  @Public()
  @ApiExcludeEndpoint()
  async callback(
    @Query() query: Record<string, string | undefined>,
    @Req() request: FastifyRequest,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    await this.page(request, reply, async () => {
      // The browser cookie is single-use too: cleared whatever the outcome.
      reply.header('set-cookie', cookie(request, BROWSER_COOKIE, '', 'Lax', CALLBACK_PATH, 0));
      const serverId = await this.connections.complete(query, cookiesOf(request)[BROWSER_COOKIE]);
      send(reply, 200, connectedPage(serverId));
    });
  }

  /** Runs a page; its error is an HTML page for a browser, the envelope (through the filter) for anything else. */
  private async page(request: FastifyRequest, reply: FastifyReply, render: () => Promise<void>): Promise<void> {
    try {
      await render();
    } catch (error) {
      if (!/text\/html/.test(request.headers.accept ?? '')) throw error;
      const { exception } = toAppException(error, [translateEngineError]);
      send(reply, exception.status, errorPage(exception.message));
    }
  }
}

function send(reply: FastifyReply, status: number, html: string): void {
  reply
    .code(status)
    .header('content-type', 'text/html; charset=utf-8')
    .header('cache-control', 'no-store')
    .header('referrer-policy', 'no-referrer')
    .send(html);
}

/** The page's Content-Security-Policy with `form-action` also allowing `origin`. */
function withFormAction(csp: unknown, origin: string): string {
  const directives = (typeof csp === 'string' ? csp : "default-src 'self'")
    .split(';')
    .map((d) => d.trim())
    .filter((d) => d && !d.startsWith('form-action '));
  return [...directives, `form-action 'self' ${origin}`].join(';');
}

function cookie(
  request: FastifyRequest,
  name: string,
  value: string,
  sameSite: 'Lax' | 'Strict',
  path: string,
  maxAge = 600,
): string {
  const secure = request.protocol === 'https' ? '; Secure' : '';
  return `${name}=${value}; Path=${path}; Max-Age=${maxAge}; HttpOnly; SameSite=${sameSite}${secure}`;
}

function cookiesOf(request: FastifyRequest): Record<string, string> {
  const cookies: Record<string, string> = {};
  for (const part of (request.headers.cookie ?? '').split(';')) {
    const at = part.indexOf('=');
    if (at > 0) cookies[part.slice(0, at).trim()] = part.slice(at + 1).trim();
  }
  return cookies;
}
