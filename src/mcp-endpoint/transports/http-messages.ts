import { JSONRPCMessageSchema, type JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import type { FastifyRequest } from 'fastify';
import { AppException } from 'src/common/errors/app.exception';

const JSONRPC_KEYS = new Set(['jsonrpc', 'id', 'method', 'params', 'result', 'error']);

/** The first value of a header Node may hand over as a list. */
export function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** A JSON object (not an array, not null). */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** `application/json`, with parameters or not (other JSON media types are not what MCP clients send). */
export function isPlainJson(contentType: string | undefined): boolean {
  return contentType !== undefined && contentType.split(';', 1)[0]!.trim().toLowerCase() === 'application/json';
}

/** The items of a POST body: a JSON-RPC batch is an array, a single message is one item. */
export function bodyItems(body: unknown): unknown[] {
  return Array.isArray(body) ? (body as unknown[]) : [body];
}

/** The JSON-RPC messages of a POST body; 400 envelope naming the problem when it is not JSON-RPC. */
export function parseMessages(body: unknown): JSONRPCMessage[] {
  const items = bodyItems(body);
  if (items.length === 0) throw AppException.invalid('Empty JSON-RPC batch');
  return items.map((item, index) => {
    const unknown =
      item !== null && typeof item === 'object' && !Array.isArray(item)
        ? Object.keys(item).filter((k) => !JSONRPC_KEYS.has(k))
        : [];
    if (unknown.length > 0) {
      throw AppException.invalid('The body is not a JSON-RPC 2.0 message', { index, unknown_fields: unknown });
    }
    const parsed = JSONRPCMessageSchema.safeParse(item);
    if (!parsed.success) {
      throw AppException.invalid('The body is not a JSON-RPC 2.0 message', {
        index,
        problems: parsed.error.issues.slice(0, 5).map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`),
      });
    }
    return parsed.data;
  });
}

/**
 * Streamable HTTP: a POST must accept both JSON and an event stream, a GET the event stream. Checked before the SDK
 * (which would answer 406 with a JSON-RPC body) so that a refusal has the gateway's envelope like every other.
 */
export function checkAccept(request: Pick<FastifyRequest, 'method' | 'headers'>): void {
  const accept = single(request.headers.accept) ?? '';
  const ok =
    request.method === 'GET'
      ? accept.includes('text/event-stream')
      : accept.includes('application/json') && accept.includes('text/event-stream');
  if (!ok) {
    throw AppException.invalid(
      request.method === 'GET'
        ? 'Accept must list text/event-stream'
        : 'Accept must list both application/json and text/event-stream (MCP Streamable HTTP)',
      { accept },
    );
  }
}
