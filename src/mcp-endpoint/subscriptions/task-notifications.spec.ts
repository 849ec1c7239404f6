import { keptOpen, MAX_LISTENED_TASKS, refusal, requestedTaskIds, withTaskNotifications } from './task-notifications';

const TASKS = 'io.modelcontextprotocol/tasks';
const META = (capabilities: Record<string, unknown>) => ({
  'io.modelcontextprotocol/protocolVersion': '2026-07-28',
  'io.modelcontextprotocol/clientCapabilities': capabilities,
});
const body = (notifications: Record<string, unknown>, capabilities = { extensions: { [TASKS]: {} } }) => ({
  jsonrpc: '2.0',
  id: 'l-1',
  method: 'subscriptions/listen',
  params: { notifications, _meta: META(capabilities) },
});
const frame = (message: Record<string, unknown>) => `event: message\ndata: ${JSON.stringify(message)}\n\n`;

async function read(response: Response, frames: number): Promise<Record<string, any>[]> {
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const out: Record<string, any>[] = [];
  let text = '';
  while (out.length < frames) {
    const { value, done } = await reader.read();
    if (done) break;
    text += new TextDecoder().decode(value);
    let end: number;
    while ((end = text.indexOf('\n\n')) >= 0) {
      out.push(JSON.parse(/^data: (.*)$/m.exec(text.slice(0, end))![1]!) as Record<string, any>);
      text = text.slice(end + 2);
    }
  }
  await reader.cancel();
  return out;
}

describe('task notifications on listen streams', () => {
  it('reads the taskIds of a filter (strings, once each), none when it names none', () => {
    expect(requestedTaskIds(body({ taskIds: ['a', 'b', 'a', 7] }))).toEqual(['a', 'b']);
    expect(requestedTaskIds(body({ toolsListChanged: true }))).toBeUndefined();
  });

  it('refuses a request that did not declare the extension (-32021, HTTP 400) or names too many tasks', async () => {
    const missing = refusal(body({ taskIds: ['a'] }, {} as never), ['a'])!;
    expect(missing.status).toBe(400);
    expect(await missing.json()).toEqual({
      jsonrpc: '2.0',
      id: 'l-1',
      error: expect.objectContaining({
        code: -32021,
        data: { requiredCapabilities: { extensions: { [TASKS]: {} } } },
      }),
    });
    const many = Array.from({ length: MAX_LISTENED_TASKS + 1 }, (_, i) => `t${i}`);
    expect(((await refusal(body({ taskIds: many }), many)!.json()) as { error: { code: number } }).error.code).toBe(
      -32602,
    );
    expect(refusal(body({ taskIds: ['a'] }), ['a'])).toBeUndefined();
  });

  it('keeps a taskIds-only filter open for the SDK with toolsListChanged, and says so', () => {
    const kept = keptOpen(body({ taskIds: ['a'] }));
    expect(kept.injected).toBe(true);
    expect((kept.body as ReturnType<typeof body>).params.notifications).toEqual({
      taskIds: ['a'],
      toolsListChanged: true,
    });
    expect(keptOpen(body({ taskIds: ['a'], toolsListChanged: true })).injected).toBe(false);
  });

  it("rewrites the SDK's acknowledgement and merges notifications/tasks between its frames", async () => {
    const sdk = new ReadableStream<Uint8Array>({
      start(controller) {
        const ack = {
          jsonrpc: '2.0',
          method: 'notifications/subscriptions/acknowledged',
          params: { notifications: { toolsListChanged: true }, _meta: { s: 1 } },
        };
        controller.enqueue(new TextEncoder().encode(frame(ack)));
      },
    });
    let deliver!: (task: Record<string, unknown>) => void;
    const stop = jest.fn();
    const merged = withTaskNotifications(
      new Response(sdk, { headers: { 'content-type': 'text/event-stream' } }),
      'l-1',
      ['t-1'],
      true,
      (d) => {
        deliver = d;
        return stop;
      },
    );
    deliver({ taskId: 't-1', status: 'working' });
    const [first, second] = await read(merged, 2);
    expect(first!.params).toEqual({ notifications: { taskIds: ['t-1'] }, _meta: { s: 1 } });
    expect(second).toEqual({
      jsonrpc: '2.0',
      method: 'notifications/tasks',
      params: { taskId: 't-1', status: 'working', _meta: { 'io.modelcontextprotocol/subscriptionId': 'l-1' } },
    });
    expect(stop).toHaveBeenCalled();
  });
});
