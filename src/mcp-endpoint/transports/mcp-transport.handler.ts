import type { FastifyReply, FastifyRequest } from 'fastify';
import type { McpRoute } from './protocol-family';

/**
 * The transport side of one protocol family: reads the HTTP request, answers on the raw reply (hijacked when it
 * streams). Handlers share the session records (McpSessions), the relay (McpSessionRelay) and the MCP server of a
 * scope (McpServerFactory); only the wire differs.
 */
export interface McpTransportHandler {
  handle(request: FastifyRequest, reply: FastifyReply, route: McpRoute): Promise<void>;
}
