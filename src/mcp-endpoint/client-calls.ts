import type { JSONRPCMessage, RequestId } from '@modelcontextprotocol/sdk/types.js';
import { ErrorCode as RpcCode, McpError } from '@modelcontextprotocol/sdk/types.js';

interface Pending {
  resolve(result: unknown): void;
  reject(error: Error): void;
}

const key = (sessionId: string, id: RequestId) => `${sessionId}\u0000${String(id)}`;

/**
 * The calls of MCP sessions this replica is serving: client requests in flight (so a `notifications/cancelled` can
 * abort them, wherever it arrived) and server-to-client requests waiting for the client's answer (which may arrive on
 * any replica). Everything here is in memory: the request that waits lives on this replica.
 */
export class ClientCalls {
  private readonly inFlight = new Map<string, AbortController>();
  private readonly pending = new Map<string, Pending>();

  /** Registers a client request in flight; returns its signal and the function that forgets it. */
  track(sessionId: string, requestId: RequestId, parent?: AbortSignal): { signal: AbortSignal; done: () => void } {
    const controller = new AbortController();
    const k = key(sessionId, requestId);
    const onAbort = () => controller.abort(parent?.reason);
    if (parent?.aborted) controller.abort(parent.reason);
    else parent?.addEventListener('abort', onAbort, { once: true });
    this.inFlight.set(k, controller);
    return {
      signal: controller.signal,
      done: () => {
        parent?.removeEventListener('abort', onAbort);
        if (this.inFlight.get(k) === controller) this.inFlight.delete(k);
      },
    };
  }

  /** Aborts a client request in flight here; false when it is not on this replica. */
  cancel(sessionId: string, requestId: RequestId, reason?: string): boolean {
    const controller = this.inFlight.get(key(sessionId, requestId));
    if (!controller) return false;
    controller.abort(new Error(reason ?? 'cancelled by the client'));
    return true;
  }

  /** Waits for the client's answer to the server-to-client request `id` (bounded by `timeoutMs` and `signal`). */
  wait(sessionId: string, id: RequestId, timeoutMs: number, signal: AbortSignal): Promise<unknown> {
    const k = key(sessionId, id);
    return new Promise((resolve, reject) => {
      const finish = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        this.pending.delete(k);
      };
      const onAbort = () => {
        finish();
        reject(new McpError(RpcCode.RequestTimeout, 'The upstream cancelled its request'));
      };
      const timer = setTimeout(() => {
        finish();
        reject(new McpError(RpcCode.RequestTimeout, `The MCP client did not answer within ${timeoutMs} ms`));
      }, timeoutMs);
      timer.unref();
      signal.addEventListener('abort', onAbort, { once: true });
      this.pending.set(k, {
        resolve: (v) => {
          finish();
          resolve(v);
        },
        reject: (e) => {
          finish();
          reject(e);
        },
      });
    });
  }

  /** Settles a waiting server-to-client request with the client's response; false when none waits here. */
  settle(sessionId: string, message: JSONRPCMessage): boolean {
    if (!('id' in message) || 'method' in message || message.id === undefined) return false;
    const pending = this.pending.get(key(sessionId, message.id));
    if (!pending) return false;
    if ('result' in message) pending.resolve(message.result);
    else pending.reject(new McpError(message.error.code, message.error.message, message.error.data));
    return true;
  }

  get waiting(): number {
    return this.pending.size;
  }
}
