import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { allowedServersOf, principalOf } from './principal';

/** The authenticated caller (`request.principal`). */
export const CurrentPrincipal = createParamDecorator((_data: unknown, ctx: ExecutionContext) =>
  principalOf(ctx.switchToHttp().getRequest<FastifyRequest>()),
);

/** The caller's server allow-list, or undefined for "every server": pass it to services that filter lists. */
export const AllowedServers = createParamDecorator((_data: unknown, ctx: ExecutionContext) =>
  allowedServersOf(ctx.switchToHttp().getRequest<FastifyRequest>()),
);
