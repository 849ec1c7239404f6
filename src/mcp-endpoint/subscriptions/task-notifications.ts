import { CLIENT_CAPABILITIES_META_KEY, SUBSCRIPTION_ID_META_KEY } from '@modelcontextprotocol/server';
import { TASKS_EXTENSION } from '../tasks/task-mapping';

/** Task ids one listen stream may follow (the request is refused beyond: a stream is not a task listing). */
export const MAX_LISTENED_TASKS = 100;

interface ListenBody {
  id?: unknown;
  params?: { notifications?: Record<string, unknown>; _meta?: Record<string, unknown> };
}

/**
 * The Tasks extension's part of a `subscriptions/listen` request (`notifications.taskIds`), which SDK 2.4's listen
 * router does not know (its filter schema drops the key): undefined when the request names none. Ids that are not
 * strings are left out, duplicates too.
 */
export function requestedTaskIds(body: unknown): string[] | undefined {
  const ids = (body as ListenBody | undefined)?.params?.notifications?.taskIds;
  if (!Array.isArray(ids)) return undefined;
  return [...new Set(ids.filter((id): id is string => typeof id === 'string'))];
}

/**
 * Why the gateway refuses a listen request asking for task notifications before the SDK sees it, if it does: the
 * request did not declare the extension in its (otherwise well-formed) envelope (-32021, the extension's rule, HTTP
 * 400 as for `tasks/*`), or names more than MAX_LISTENED_TASKS tasks (-32602). A malformed envelope is the SDK's.
 */
export function refusal(body: unknown, taskIds: string[]): Response | undefined {
  const request = body as ListenBody;
  const id = typeof request.id === 'string' || typeof request.id === 'number' ? request.id : null;
  const declared = request.params?._meta?.[CLIENT_CAPABILITIES_META_KEY];
  if (typeof declared === 'object' && declared !== null) {
    const extensions = (declared as { extensions?: Record<string, unknown> }).extensions;
    if (extensions?.[TASKS_EXTENSION] === undefined) {
      const data = { requiredCapabilities: { extensions: { [TASKS_EXTENSION]: {} } } };
      const message = `Missing required client capability: extensions["${TASKS_EXTENSION}"]`;
      return Response.json({ jsonrpc: '2.0', id, error: { code: -32021, message, data } }, { status: 400 });
    }
  }
  if (taskIds.length > MAX_LISTENED_TASKS) {
    const message = `Invalid params: at most ${MAX_LISTENED_TASKS} taskIds per listen stream`;
    return Response.json({ jsonrpc: '2.0', id, error: { code: -32602, message } }, { status: 200 });
  }
  return undefined;
}

/**
 * The body handed to the SDK's router: a filter naming only `taskIds` is empty to the router, which would acknowledge
 * it and close the stream at once; `toolsListChanged` keeps it open (its events are not delivered to such a stream,
 * and the acknowledgement is rewritten to what the client asked). `injected` says whether that was needed.
 */
export function keptOpen(body: unknown): { body: unknown; injected: boolean } {
  const request = body as ListenBody;
  const notifications = request.params?.notifications ?? {};
  if (notifications.toolsListChanged === true) return { body, injected: false };
  return {
    body: { ...request, params: { ...request.params, notifications: { ...notifications, toolsListChanged: true } } },
    injected: true,
  };
}

/**
 * The SDK's listen stream with the task notifications merged in: its acknowledgement (the first frame) names the
 * `taskIds` honored and loses an injected `toolsListChanged`; each `notifications/tasks` of `subscribe` is written
 * between the SDK's frames (each of its chunks is one whole frame), tagged with the subscription id as the SDK tags
 * its own. The stream ends when the SDK's ends (graceful close) or the client hangs up.
 */
export function withTaskNotifications(
  response: Response,
  subscriptionId: string | number,
  taskIds: string[],
  injected: boolean,
  subscribe: (deliver: (task: Record<string, unknown>) => void) => () => void,
): Response {
  const source = (response.body as ReadableStream<Uint8Array>).getReader();
  const encoder = new TextEncoder();
  let stop: (() => void) | undefined;
  let first = true;
  /** Told before the acknowledgement went out: written right after it (the acknowledgement is the first message). */
  let early: Uint8Array[] | undefined = [];
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      stop = subscribe((task) => {
        const params = { ...task, _meta: { [SUBSCRIPTION_ID_META_KEY]: subscriptionId } };
        const frame = { jsonrpc: '2.0', method: 'notifications/tasks', params };
        const bytes = encoder.encode(`event: message\ndata: ${JSON.stringify(frame)}\n\n`);
        if (early) return void early.push(bytes);
        try {
          controller.enqueue(bytes);
        } catch {
          // Closed meanwhile: nothing more to tell.
        }
      });
    },
    async pull(controller) {
      const { value, done } = await source.read();
      if (done) {
        stop?.();
        controller.close();
        return;
      }
      if (first) {
        first = false;
        controller.enqueue(encoder.encode(acknowledged(new TextDecoder().decode(value), taskIds, injected)));
        for (const bytes of early ?? []) controller.enqueue(bytes);
        early = undefined;
        return;
      }
      controller.enqueue(value);
    },
    async cancel(reason) {
      stop?.();
      await source.cancel(reason);
    },
  });
  return new Response(body, { status: response.status, headers: response.headers });
}

/** The acknowledgement frame with what the client gets: its `taskIds`, without a `toolsListChanged` it did not ask. */
function acknowledged(frame: string, taskIds: string[], injected: boolean): string {
  return frame.replace(/^data: (.*)$/m, (_line, json: string) => {
    const note = JSON.parse(json) as { params?: { notifications?: Record<string, unknown> } };
    const notifications = { ...(note.params?.notifications ?? {}) };
    if (injected) delete notifications.toolsListChanged;
    notifications.taskIds = taskIds;
    return `data: ${JSON.stringify({ ...note, params: { ...note.params, notifications } })}`;
  });
}
