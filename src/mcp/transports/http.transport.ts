import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import type { ServerEntry } from 'src/config/config.schema';

type FetchFn = (url: string | URL, init?: RequestInit) => Promise<Response>;

/**
 * A fetch that gives every request its own AbortController, linked to the signal the SDK passes.
 *
 * Why: the SDK's Streamable HTTP transport passes one long-lived AbortSignal to every fetch; undici adds an abort
 * listener per request and only drops it when the request is garbage-collected, so a long-lived transport piles up
 * listeners (MaxListenersExceededWarning from ~1,500 calls). Here only our own listener sits on the shared signal,
 * and it is removed as soon as the response is done: at once for plain responses, at the end of the body for event
 * streams (which must stay abortable by `close()`).
 */
export function linkedAbortFetch(base: FetchFn = (url, init) => fetch(url, init)): FetchFn {
  return async (url, init) => {
    const parent = init?.signal ?? undefined;
    if (!parent) return base(url, init);
    const own = new AbortController();
    const onAbort = () => own.abort(parent.reason);
    if (parent.aborted) own.abort(parent.reason);
    else parent.addEventListener('abort', onAbort, { once: true });
    let linked = true;
    const unlink = () => {
      if (!linked) return;
      linked = false;
      parent.removeEventListener('abort', onAbort);
    };
    let response: Response;
    try {
      response = await base(url, { ...init, signal: own.signal });
    } catch (e) {
      unlink();
      throw e;
    }
    const isStream = response.headers.get('content-type')?.includes('text/event-stream') ?? false;
    if (!response.body || !isStream) {
      unlink();
      return response;
    }
    const reader = response.body.getReader();
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        try {
          const { done, value } = await reader.read();
          if (done) {
            unlink();
            controller.close();
          } else controller.enqueue(value);
        } catch (e) {
          unlink();
          controller.error(e);
        }
      },
      cancel(reason) {
        unlink();
        return reader.cancel(reason);
      },
    });
    return new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
  };
}

function requireUrl(serverId: string, entry: ServerEntry): URL {
  if (!entry.url) throw new Error(`${entry.type} server '${serverId}' has no url`);
  return new URL(entry.url);
}

/** Streamable HTTP (`type: http`): url and headers from the entry, the leak-free fetch. */
export function createStreamableHttpTransport(serverId: string, entry: ServerEntry): StreamableHTTPClientTransport {
  return new StreamableHTTPClientTransport(requireUrl(serverId, entry), {
    requestInit: { headers: entry.headers },
    fetch: linkedAbortFetch(),
  });
}

/** Legacy HTTP+SSE (`type: sse`): headers go on the POSTs and on the event-stream GET. */
export function createSseTransport(serverId: string, entry: ServerEntry): SSEClientTransport {
  return new SSEClientTransport(requireUrl(serverId, entry), {
    requestInit: { headers: entry.headers },
    fetch: linkedAbortFetch(),
  });
}
