import { Injectable } from '@nestjs/common';
import { AppException } from 'src/common/errors/app.exception';
import { EngineErrorCode, isEngineError } from 'src/mcp/engine-error';
import { McpEngine } from 'src/mcp/mcp-engine';
import { ServersService } from 'src/servers/servers.service';
import type { JsonRpcMessageDto, JsonRpcResponseDto } from './dto/json-rpc.dto';

/**
 * Raw JSON-RPC to one upstream. The upstream's own answer, error included, is the JSON-RPC response (HTTP 200);
 * the error envelope is kept for what goes wrong in the gateway (unknown server, down, timeout, broken protocol).
 */
@Injectable()
export class MessagesService {
  constructor(
    private readonly engine: McpEngine,
    private readonly servers: ServersService,
  ) {}

  /** A request (with `id`): its JSON-RPC response. A notification (no `id`): sent, undefined returned. */
  async send(
    serverId: string,
    message: JsonRpcMessageDto,
    signal?: AbortSignal,
  ): Promise<JsonRpcResponseDto | undefined> {
    this.servers.find(serverId);
    if (message.id === undefined) {
      await this.notify(serverId, message.method, message.params);
      return undefined;
    }
    try {
      const result = await this.engine.request(serverId, message.method, message.params, { signal });
      return { jsonrpc: '2.0', id: message.id, result };
    } catch (error) {
      if (!isEngineError(error, EngineErrorCode.UPSTREAM_ERROR)) throw error;
      const { rpcCode, rpcMessage, data } = error.details as { rpcCode: number; rpcMessage: string; data?: unknown };
      return {
        jsonrpc: '2.0',
        id: message.id,
        error: { code: rpcCode, message: rpcMessage, ...(data !== undefined ? { data } : {}) },
      };
    }
  }

  private async notify(serverId: string, method: string, params?: Record<string, unknown>): Promise<void> {
    try {
      await this.engine.notify(serverId, method, params);
    } catch (error) {
      if (isEngineError(error)) throw error;
      // The SDK client refuses, before sending, a notification for a capability the gateway's session did not declare
      // (e.g. notifications/roots/list_changed): the message cannot be sent on this session, a client error.
      throw AppException.invalid(
        `Notification '${method}' cannot be sent on the gateway's session: ${(error as Error).message}`,
        {
          method,
        },
      );
    }
  }
}
