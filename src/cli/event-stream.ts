/** One Server-Sent Event: its `event:` name (`message` when none) and its `data:` lines joined. */
export interface ServerSentEvent {
  id?: string;
  event: string;
  data: string;
}

/**
 * The events of a `text/event-stream` body (WHATWG framing: fields up to a blank line, `:` comments skipped, CR LF
 * or LF). Small enough to keep here rather than add an EventSource library for one stream.
 */
export async function* readEvents(body: ReadableStream<Uint8Array>): AsyncGenerator<ServerSentEvent> {
  const decoder = new TextDecoder();
  let buffer = '';
  let event: Partial<ServerSentEvent> & { lines: string[] } = { lines: [] };
  for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(chunk, { stream: true });
    let newline: number;
    while ((newline = buffer.search(/\r?\n/)) >= 0) {
      const line = buffer.slice(0, newline);
      buffer = buffer.slice(newline + (buffer[newline] === '\r' ? 2 : 1));
      if (line === '') {
        if (event.lines.length > 0)
          yield { id: event.id, event: event.event ?? 'message', data: event.lines.join('\n') };
        event = { lines: [] };
        continue;
      }
      if (line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'data') event.lines.push(value);
      else if (field === 'event') event.event = value;
      else if (field === 'id') event.id = value;
    }
  }
}
