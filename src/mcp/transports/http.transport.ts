import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { context, propagation, trace, type TextMapSetter } from '@opentelemetry/api';
import type { ServerEntry } from 'src/config/config.schema';

type FetchFn = (url: string | URL, init?: RequestInit) => Promise<Response>;

/**
 * Per shared signal: the live per-request controllers, and the one listener that aborts them all. One listener per
 * shared signal, however many requests are in flight (a listener per request trips MaxListenersExceededWarning from
 * 11 concurrent requests).
 */
const fanOut = new WeakMap<AbortSignal, Set<AbortController>>();

function link(parent: AbortSignal, own: AbortController): () => void {
  let children = fanOut.get(parent);
  if (!children) {
    const set = new Set<AbortController>();
    children = set;
    fanOut.set(parent, set);
    parent.addEventListener(
      'abort',
      () => {
        for (const c of set) c.abort(parent.reason);
        set.clear();
      },
      { once: true },
    );
  }
  children.add(own);
  const set = children;
  return () => set.delete(own);
}

const headerSetter: TextMapSetter<Headers> = { set: (headers, key, value) => headers.set(key, value) };

/**
 * The W3C `traceparent` (and `tracestate`) of the active trace on an upstream request, so the upstream's spans join
 * the caller's trace. Through `@opentelemetry/api` (a plain library; the gateway's tracing module registers the SDK):
 * while tracing is off there is no active span and the request is sent as it is.
 */
function withTraceContext(init: RequestInit | undefined): RequestInit | undefined {
  const active = context.active();
  if (trace.getSpan(active) === undefined) return init;
  // The SDK builds a fresh Headers per request: set on it; anything else is copied first.
  const headers = init?.headers instanceof Headers ? init.headers : new Headers(init?.headers);
  propagation.inject(active, headers, headerSetter);
  return headers === init?.headers ? init : { ...init, headers };
}

/**
 * A fetch that gives every request its own AbortController, linked to the signal the SDK passes.
 *
 * Why: the SDK's Streamable HTTP transport passes one long-lived AbortSignal to every fetch; undici adds an abort
 * listener per request and only drops it when the request is garbage-collected, so a long-lived transport piles up
 * listeners (MaxListenersExceededWarning from ~1,500 calls). Here undici's listeners go on per-request signals that die
 * with their request, and the shared signal carries exactly one listener of ours (see `link`). A request is unlinked
 * as soon as it is done: at once for plain responses, at the end of the body for event streams (which must stay
 * abortable by `close()`). It also carries the active trace context (see `withTraceContext`).
 */
export function linkedAbortFetch(base: FetchFn = (url, init) => fetch(url, init)): FetchFn {
  return async (url, requestInit) => {
    const init = withTraceContext(requestInit);
    const parent = init?.signal ?? undefined;
    if (!parent) return base(url, init);
    const own = new AbortController();
    let unlink: () => void = () => undefined;
    if (parent.aborted) own.abort(parent.reason);
    else unlink = link(parent, own);
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
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
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

/** Headers asked for each HTTP request (an upstream credential that may change while the connection lives). */
export type RequestHeaders = () => Readonly<Record<string, string>> | Promise<Readonly<Record<string, string>>>;

/**
 * A fetch that sets `headers()` on every request: a refreshed token is used by the next request without reconnecting.
 * A failure to get them (the token endpoint is down) fails that request, which the transport reports as its error.
 * A 401 answer calls `onUnauthorized` (the upstream refused the credential before its expiry, e.g. revoked): the
 * credential's owner drops it, so the next request asks for a new one instead of sending it again.
 */
export function withRequestHeaders(
  base: FetchFn,
  headers: RequestHeaders | undefined,
  onUnauthorized?: () => void,
): FetchFn {
  if (!headers) return base;
  return async (url, init) => {
    const extra = await headers();
    const merged = new Headers(init?.headers);
    for (const [name, value] of Object.entries(extra)) merged.set(name, value);
    const response = await base(url, { ...init, headers: merged });
    if (response.status === 401) onUnauthorized?.();
    return response;
  };
}

/** Streamable HTTP (`type: http`): url and headers from the entry, the leak-free fetch. */
export function createStreamableHttpTransport(
  serverId: string,
  entry: ServerEntry,
  headers?: RequestHeaders,
  onUnauthorized?: () => void,
): StreamableHTTPClientTransport {
  return new StreamableHTTPClientTransport(requireUrl(serverId, entry), {
    requestInit: { headers: entry.headers },
    fetch: withRequestHeaders(linkedAbortFetch(), headers, onUnauthorized),
  });
}

/** Legacy HTTP+SSE (`type: sse`): headers go on the POSTs and on the event-stream GET. */
export function createSseTransport(
  serverId: string,
  entry: ServerEntry,
  headers?: RequestHeaders,
  onUnauthorized?: () => void,
): SSEClientTransport {
  return new SSEClientTransport(requireUrl(serverId, entry), {
    requestInit: { headers: entry.headers },
    fetch: withRequestHeaders(linkedAbortFetch(), headers, onUnauthorized),
  });
}
