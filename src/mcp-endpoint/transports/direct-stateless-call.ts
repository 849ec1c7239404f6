import { Injectable } from '@nestjs/common';
import { ErrorCode as RpcCode, type CallToolRequest, type RequestId } from '@modelcontextprotocol/sdk/types.js';
import { SERVER_INFO_META_KEY } from '@modelcontextprotocol/server';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { RESOURCE_NOT_FOUND_RPC } from '../mcp-errors';
import { McpServerFactory } from '../mcp-server.factory';
import { McpSessions } from '../mcp-sessions.service';
import { JobTasks } from '../tasks/job-tasks';
import { ToolCallBridge } from '../tool-call.bridge';
import { modernUrlElicitation } from '../url-elicitation';
import { answerDirectly, rpcError, sent } from './direct-answer';
import { isPlainJson, isRecord, single } from './http-messages';
import { STATELESS_REVISION } from './protocol-family';

const PROTOCOL_VERSION_KEY = 'io.modelcontextprotocol/protocolVersion';
const CLIENT_CAPABILITIES_KEY = 'io.modelcontextprotocol/clientCapabilities';
const CLIENT_INFO_KEY = 'io.modelcontextprotocol/clientInfo';
const META_KEYS = new Set([PROTOCOL_VERSION_KEY, CLIENT_CAPABILITIES_KEY, CLIENT_INFO_KEY]);
const PARAM_KEYS = new Set(['name', 'arguments', '_meta']);
const MESSAGE_KEYS = new Set(['jsonrpc', 'id', 'method', 'params']);
/** A tool name the `Mcp-Name` header carries as it is (no sentinel encoding, nothing to decode). */
const PLAIN_NAME = /^[A-Za-z0-9_.:/-]{1,128}$/;

/** A 2026-07-28 `tools/call` this path answers: its id and params. */
export interface StatelessCall {
  id: RequestId;
  params: CallToolRequest['params'];
}

/**
 * The 2026-07-28 front door's path for its commonest request: a `tools/call` from a client that asked for nothing
 * but the result (no capability the upstream could ask it for, no Tasks extension, no log level, no progress token, no
 * `requestState`), answered as JSON without building an SDK 2 `Server` and converting the request to a web `Request`
 * and back (about a third of the path's CPU per call, docs/benchmarks.md).
 *
 * It takes only requests that SDK 2's entry would accept as they are: the envelope, the `MCP-Protocol-Version`,
 * `Mcp-Method` and `Mcp-Name` headers equal to the body byte for byte, JSON in and out; any other request (every
 * refusal included) goes the SDK way, so every error of the wire stays the SDK's. The call is the same
 * `ToolCallBridge` call as the SDK handler's, and the answer is encoded as the SDK's 2026-07-28 codec does
 * (`resultType: "complete"`, the server's identity in `_meta`, -32002 sent as -32602).
 */
@Injectable()
export class DirectStatelessCall {
  constructor(
    private readonly sessions: McpSessions,
    private readonly handlers: McpServerFactory,
    private readonly toolCalls: ToolCallBridge,
    private readonly tasks: JobTasks,
  ) {}

  /** The call, when this path answers exactly as the SDK would; undefined for anything the SDK must serve. */
  static eligible(request: FastifyRequest): StatelessCall | undefined {
    const body = request.body;
    if (request.method !== 'POST' || !isRecord(body) || !onlyKeys(body, MESSAGE_KEYS)) return undefined;
    if (body.jsonrpc !== '2.0' || body.method !== 'tools/call' || !isId(body.id)) return undefined;
    const params = body.params;
    if (!isRecord(params) || !onlyKeys(params, PARAM_KEYS)) return undefined;
    if (typeof params.name !== 'string' || !PLAIN_NAME.test(params.name)) return undefined;
    if (params.arguments !== undefined && !isRecord(params.arguments)) return undefined;
    if (!plainEnvelope(params._meta)) return undefined;
    const headers = request.headers;
    if (
      single(headers['mcp-protocol-version']) !== STATELESS_REVISION ||
      single(headers['mcp-method']) !== 'tools/call' ||
      single(headers['mcp-name']) !== params.name ||
      headers['mcp-session-id'] !== undefined ||
      !isPlainJson(single(headers['content-type'])) ||
      !acceptsBoth(single(headers.accept))
    ) {
      return undefined;
    }
    for (const name of Object.keys(headers)) if (name.startsWith('mcp-param-')) return undefined;
    return { id: body.id, params: params as CallToolRequest['params'] };
  }

  /**
   * Runs the call and writes its JSON-RPC response; false, with nothing written, when the tool is one the SDK path
   * must serve (its upstream runs it only as a task).
   */
  async answer(request: FastifyRequest, reply: FastifyReply, call: StatelessCall, view: string): Promise<boolean> {
    const hangUp = new AbortController();
    const scope = this.sessions.statelessScope({ principal: request.principal, view, signal: hangUp.signal });
    if (this.tasks.taskSupport(scope, call.params.name) === 'required') return false;
    await answerDirectly(
      request,
      reply,
      call.id,
      hangUp,
      async () => {
        const extra = { requestId: call.id, signal: hangUp.signal, sendNotification: sent };
        const result = await this.toolCalls.callTool(scope, call.params, extra);
        return encodeResult(result, this.handlers.presentation(scope.view).serverInfo);
      },
      encodeError,
    );
    return true;
  }
}

/** The 2026-07-28 codec's result encoding for `tools/call`: `resultType` stamped, the server's identity in `_meta`. */
function encodeResult(result: Record<string, unknown>, serverInfo: { name: string; version: string }) {
  const typed = result.resultType === undefined ? { ...result, resultType: 'complete' } : result;
  const meta = typed._meta;
  if (meta === undefined) return { ...typed, _meta: { [SERVER_INFO_META_KEY]: serverInfo } };
  if (!isRecord(meta) || meta[SERVER_INFO_META_KEY] !== undefined) return typed;
  return { ...typed, _meta: { ...meta, [SERVER_INFO_META_KEY]: serverInfo } };
}

/**
 * A handler's error as SDK 2 answers it (resource-not-found has no code of its own on this revision; an oauth-user
 * refusal is no -32042 either: this path's clients declare no URL elicitation, see url-elicitation.ts).
 */
function encodeError(error: unknown): Record<string, unknown> {
  const modern = modernUrlElicitation(error, undefined);
  const encoded = rpcError('error' in modern ? modern.error : error);
  return encoded.code === RESOURCE_NOT_FOUND_RPC ? { ...encoded, code: RpcCode.InvalidParams } : encoded;
}

/** The envelope of a client that asks for nothing but the result, in the shape the SDK accepts as it is. */
function plainEnvelope(meta: unknown): boolean {
  if (!isRecord(meta) || !onlyKeys(meta, META_KEYS) || meta[PROTOCOL_VERSION_KEY] !== STATELESS_REVISION) return false;
  const capabilities = meta[CLIENT_CAPABILITIES_KEY];
  // Any declared capability may change how the call is served (input-required rounds, tasks): the SDK path decides.
  if (!isRecord(capabilities) || Object.keys(capabilities).length > 0) return false;
  const info = meta[CLIENT_INFO_KEY];
  if (info === undefined) return true;
  return (
    isRecord(info) &&
    onlyKeys(info, new Set(['name', 'version'])) &&
    typeof info.name === 'string' &&
    typeof info.version === 'string'
  );
}

function onlyKeys(value: Record<string, unknown>, allowed: ReadonlySet<string>): boolean {
  for (const key of Object.keys(value)) if (!allowed.has(key)) return false;
  return true;
}

function isId(value: unknown): value is RequestId {
  return (typeof value === 'string' && value.length > 0) || (typeof value === 'number' && Number.isSafeInteger(value));
}

function acceptsBoth(accept: string | undefined): boolean {
  return accept !== undefined && accept.includes('application/json') && accept.includes('text/event-stream');
}
