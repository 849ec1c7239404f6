import { type JSONRPCRequest, type Result, Server, type ServerContext } from '@modelcontextprotocol/server';

type Handler = (request: JSONRPCRequest, ctx: ServerContext) => Promise<Result>;

/** Carries a `CreateTaskResult` past SDK 2's `tools/call` result checks (see TaskServer). */
class TaskHandOff extends Error {
  constructor(readonly result: Result) {
    super('a CreateTaskResult on its way out');
  }
}

/**
 * SDK 2's `Server`, letting a `tools/call` handler answer a `CreateTaskResult` (`resultType: "task"`) as it is. The
 * SDK checks every `tools/call` result as a `CallToolResult` and gives one without `content` an empty `content` array,
 * which is right for a tool result and wrong for a task handle (SEP-2663: `Result & Task`). `_wrapHandler` is the
 * SDK's documented hook for this: every other result still goes through the SDK's checks unchanged.
 */
export class TaskServer extends Server {
  protected override _wrapHandler(method: string, handler: Handler): Handler {
    if (method !== 'tools/call') return super._wrapHandler(method, handler);
    const checked = super._wrapHandler(method, async (request, ctx) => {
      const result = await handler(request, ctx);
      if ((result as { resultType?: unknown }).resultType === 'task') throw new TaskHandOff(result);
      return result;
    });
    return async (request, ctx) => {
      try {
        return await checked(request, ctx);
      } catch (error) {
        if (error instanceof TaskHandOff) return error.result;
        throw error;
      }
    };
  }
}
