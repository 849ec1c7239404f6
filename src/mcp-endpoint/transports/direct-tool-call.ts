import { Injectable } from '@nestjs/common';
import {
  isJSONRPCRequest,
  RELATED_TASK_META_KEY,
  SUPPORTED_PROTOCOL_VERSIONS,
  type CallToolRequest,
  type JSONRPCMessage,
  type JSONRPCRequest,
} from '@modelcontextprotocol/sdk/types.js';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { McpSession } from '../mcp-session.store';
import { McpSessions } from '../mcp-sessions.service';
import { ToolCallBridge } from '../tool-call.bridge';
import { answerDirectly, rpcError, sent } from './direct-answer';
import { isPlainJson, isRecord, single } from './http-messages';

const PARAM_KEYS = new Set(['name', 'arguments', '_meta']);
const SUPPORTED = new Set<string>(SUPPORTED_PROTOCOL_VERSIONS);

/**
 * The 2025 front door's path for its commonest request: one `tools/call` of a session whose answer can only be the
 * result (no progress token, a client that takes no server-to-client requests), answered as plain JSON without an
 * SDK `Server` and transport built for it. Building those per request (and the web `Request`/`Response` the SDK's
 * transport converts through) was about a third of the front door's CPU per call (docs/benchmarks.md).
 *
 * What the SDK would check, this path checks too or leaves to it: a request this path is not sure to answer exactly as
 * the SDK would (an unusual shape, a protocol version header it does not support, a task, a non-JSON content type)
 * goes the SDK way, so every error stays the SDK's. The call itself is the same `ToolCallBridge` call the SDK's
 * handler makes; its answer is the SDK's JSON-RPC response shape. As with the SDK's JSON answers, messages about the
 * call other than its result (log messages) are not sent: they need an event stream.
 */
@Injectable()
export class DirectToolCall {
  constructor(
    private readonly sessions: McpSessions,
    private readonly toolCalls: ToolCallBridge,
  ) {}

  /** The call, when this path answers exactly as the SDK would; undefined for anything the SDK must serve. */
  static eligible(request: FastifyRequest, messages: readonly JSONRPCMessage[]): JSONRPCRequest | undefined {
    if (request.method !== 'POST' || messages.length !== 1) return undefined;
    const message = messages[0]!;
    if (!isJSONRPCRequest(message) || message.method !== 'tools/call') return undefined;
    const version = single(request.headers['mcp-protocol-version']);
    if (version !== undefined && !SUPPORTED.has(version)) return undefined;
    if (!isPlainJson(single(request.headers['content-type']))) return undefined;
    const params = message.params;
    if (!isRecord(params) || typeof params.name !== 'string') return undefined;
    for (const key of Object.keys(params)) if (!PARAM_KEYS.has(key)) return undefined;
    if (params.arguments !== undefined && !isRecord(params.arguments)) return undefined;
    const meta = params._meta;
    if (meta !== undefined && (!isRecord(meta) || meta.progressToken !== undefined || RELATED_TASK_META_KEY in meta))
      return undefined;
    return message;
  }

  /** Runs the call through the bridge and writes its JSON-RPC response (200, as the SDK's JSON answers). */
  async answer(
    request: FastifyRequest,
    reply: FastifyReply,
    message: JSONRPCRequest,
    session: McpSession,
    view: string,
  ): Promise<void> {
    const hangUp = new AbortController();
    const scope = this.sessions.scope({
      session,
      sessionId: session.id,
      principal: request.principal,
      view,
      streaming: false,
      signal: hangUp.signal,
      send: sent,
    });
    const params = message.params as CallToolRequest['params'];
    await answerDirectly(
      request,
      reply,
      message.id,
      hangUp,
      () =>
        this.toolCalls.callTool(scope, params, {
          requestId: message.id,
          signal: hangUp.signal,
          sendNotification: sent,
        }),
      rpcError,
      { 'mcp-session-id': session.id },
    );
  }
}
