import { readEvents, type ServerSentEvent } from './event-stream';

async function eventsOf(chunks: string[]): Promise<ServerSentEvent[]> {
  const encoder = new TextEncoder();
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(encoder.encode(chunk));
      controller.close();
    },
  });
  const events: ServerSentEvent[] = [];
  for await (const event of readEvents(body)) events.push(event);
  return events;
}

describe('readEvents', () => {
  it('reads events split anywhere across chunks, with CRLF or LF, skipping comments', async () => {
    const events = await eventsOf([
      ': keep-alive\n\nid: 1\nevent: sta',
      'tus\ndata: {"status":"running"}\r\n\r\nid: 2\r\nevent: progress\ndata: {"progress":1,',
      '"total":2}\n\n',
    ]);
    expect(events).toEqual([
      { id: '1', event: 'status', data: '{"status":"running"}' },
      { id: '2', event: 'progress', data: '{"progress":1,"total":2}' },
    ]);
  });

  it('joins multi-line data and names an unnamed event "message"; an unterminated event is not emitted', async () => {
    expect(await eventsOf(['data: a\ndata:b\n\nevent: result\ndata: half'])).toEqual([
      { id: undefined, event: 'message', data: 'a\nb' },
    ]);
  });
});
