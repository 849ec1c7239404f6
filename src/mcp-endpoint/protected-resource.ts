import type { FastifyRequest } from 'fastify';

/** The public base URL of a request (`X-Forwarded-Proto`/`Host` honoured: Fastify runs with trustProxy). */
export function baseUrlOf(request: FastifyRequest): string {
  return `${request.protocol}://${request.host}`;
}

/** RFC 9728: the metadata of resource `<base>/mcp[/<id>]` lives at `<base>/.well-known/oauth-protected-resource/mcp[/<id>]`. */
export function protectedResourceMetadataUrl(request: FastifyRequest): string {
  const path = (request.url.split('?')[0] ?? '/').replace(/\/+$/, '');
  const resourcePath = /^\/(mcp(\/[^/]+)?|sse|messages)$/.test(path) ? path : '/mcp';
  return `${baseUrlOf(request)}/.well-known/oauth-protected-resource${resourcePath}`;
}
