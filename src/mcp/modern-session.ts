import {
  CLIENT_CAPABILITIES_META_KEY,
  Client,
  LOG_LEVEL_META_KEY,
  ProtocolError,
  SERVER_INFO_META_KEY,
  StreamableHTTPClientTransport,
  type McpSubscription,
  type StandardSchemaV1,
  type SubscriptionFilter,
  withInputRequired,
} from '@modelcontextprotocol/client';
import { AsyncLocalStorage } from 'node:async_hooks';
import type { ClientCapabilities, Implementation, Notification, Progress } from '@modelcontextprotocol/sdk/types.js';
import { ErrorCode } from '@modelcontextprotocol/sdk/types.js';
import type { ServerEntry } from 'src/config/config.schema';
import type { CallOrigin } from './call-origin';
import { linkedAbortFetch, type RequestHeaders, withRequestHeaders } from './transports/http.transport';
import {
  askOrigin,
  INPUT_REQUIRED_METHODS,
  isInputRequired,
  MAX_INPUT_ROUNDS,
  type InputRequiredResult,
} from './upstream-input';

/** The call whose exchange is running (see `ModernSessionOptions.onNotification`). */
const inCall = new AsyncLocalStorage<{ origin?: CallOrigin }>();

/** The stateless revision the engine speaks to upstreams that offer it (issue #13 item 8, ADR 0012). */
export const MODERN_REVISION = '2026-07-28';

export interface ModernSessionOptions {
  serverId: string;
  entry: ServerEntry;
  clientInfo: Implementation;
  /** What the gateway forwards to its clients (sampling, elicitation, roots): announced for calls that can answer. */
  capabilities: ClientCapabilities;
  /** Bound on the `server/discover` probe. */
  timeoutMs: number;
  requestHeaders?: RequestHeaders;
  onUnauthorized?: () => void;
  /**
   * A notification: `call` is the call whose response stream carried it (a log message, with that call's origin), or
   * undefined for one outside any call (a change heard on a `subscriptions/listen` stream).
   */
  onNotification: (notification: Notification, call: { origin?: CallOrigin } | undefined) => void;
  /** A transport failure (the fetch of some request failed). */
  onError: (error: Error) => void;
  /** The listen stream ended without the gateway closing it: the upstream went away or shut down. */
  onListenEnded: (how: 'graceful' | 'remote') => void;
}

export interface ModernCall {
  timeoutMs: number;
  signal?: AbortSignal;
  onProgress?: (progress: Progress) => void;
  origin?: CallOrigin;
}

/**
 * One upstream that speaks MCP 2026-07-28 over Streamable HTTP, through the SDK 2 client: no `initialize`, no
 * `Mcp-Session-Id`; the SDK puts the `_meta` envelope (revision, client info, capabilities) on every request. It
 * holds no session: a request needs nothing from an earlier one, so any number of pooled members may talk to the same
 * upstream, and a member that "reconnects" only probes again.
 *
 * - **Negotiation**: `open` asks `server/discover` with the revision pinned (SDK 2's `versionNegotiation`). An upstream
 *   that does not offer it answers something else (a 2025 server: 400 or an error; one that needs another credential:
 *   401), and `open` resolves undefined: the connection then runs the 2025 `initialize` on SDK 1 exactly as before,
 *   which reports any real failure (unreachable, refused credential) as it always did.
 * - **Input required** (item 4b): `tools/call`, `prompts/get` and `resources/read` are sent in the SDK's manual
 *   multi-round-trip mode; an `input_required` result's `inputRequests` go to the call's origin (`askOrigin`) and the
 *   request is sent again with the `inputResponses` and the `requestState` as received, at most `MAX_INPUT_ROUNDS`
 *   times. The call's `clientCapabilities` are its origin's, so the upstream asks only what that client can answer
 *   (none for REST callers and internal calls).
 * - **Logs**: every request asks for `debug` (`io.modelcontextprotocol/logLevel`): the front door filters by what each
 *   client asked, as it does for 2025 upstreams (which send at their default level).
 * - **Cancellation**: the caller's signal aborts the request's HTTP exchange (the spec's way on this revision); the
 *   SDK also sends `notifications/cancelled`.
 * - **List changes**: one `subscriptions/listen` stream per member for the lists the upstream says change; its
 *   notifications reach the engine as a 2025 upstream's do. The stream ending unasked means the upstream is gone.
 */
export class ModernSession {
  private subscription: McpSubscription | undefined;
  /** `resources/subscribe` on this revision: one `subscriptions/listen` stream per URI (`resourceSubscriptions`). */
  private readonly resourceStreams = new Map<string, McpSubscription>();
  private closing = false;

  private constructor(
    private readonly client: Client,
    private readonly options: ModernSessionOptions,
  ) {}

  /** The session, or undefined when the upstream does not offer 2026-07-28 (see the class comment). */
  static async open(options: ModernSessionOptions): Promise<ModernSession | undefined> {
    const client = new Client(options.clientInfo, {
      capabilities: options.capabilities as never,
      versionNegotiation: { mode: { pin: MODERN_REVISION } },
      inputRequired: { autoFulfill: false },
    });
    const session = new ModernSession(client, options);
    client.fallbackNotificationHandler = (notification) => {
      options.onNotification(notification, inCall.getStore());
      return Promise.resolve();
    };
    const { entry, serverId } = options;
    if (!entry.url) throw new Error(`http server '${serverId}' has no url`);
    const fetch = withRequestHeaders(linkedAbortFetch(), options.requestHeaders, options.onUnauthorized);
    const transport = new StreamableHTTPClientTransport(new URL(entry.url), {
      requestInit: { headers: entry.headers },
      fetch: fetch,
    });
    try {
      await client.connect(transport, { timeout: options.timeoutMs });
    } catch {
      await client.close().catch(() => undefined);
      return undefined;
    }
    client.onerror = (error) => {
      if (!session.closing) options.onError(error);
    };
    await session.listen();
    return session;
  }

  get protocolVersion(): string | undefined {
    return this.client.getNegotiatedProtocolVersion();
  }

  get serverCapabilities(): ReturnType<Client['getServerCapabilities']> {
    return this.client.getServerCapabilities();
  }

  get serverVersion(): Implementation | undefined {
    return this.client.getServerVersion();
  }

  get instructions(): string | undefined {
    return this.client.getInstructions();
  }

  /**
   * One request, with its input rounds (see the class comment). `ping` is gone from this revision: it is answered by
   * a `server/discover` round trip, the cheapest request that proves the upstream answers (the health check's use).
   */
  async request(
    method: string,
    params: Record<string, unknown> | undefined,
    schema: StandardSchemaV1,
    call: ModernCall,
  ): Promise<unknown> {
    if (method === 'ping') {
      await this.client.discover({ signal: call.signal, timeout: call.timeoutMs });
      return {};
    }
    if (method === 'resources/subscribe' || method === 'resources/unsubscribe') {
      await this.resourceSubscription(method, typeof params?.uri === 'string' ? params.uri : '', call.timeoutMs);
      return {};
    }
    const deadline = performance.now() + call.timeoutMs;
    const mayAsk = INPUT_REQUIRED_METHODS.has(method);
    const meta = {
      ...(params?._meta as Record<string, unknown> | undefined),
      [LOG_LEVEL_META_KEY]: 'debug',
      [CLIENT_CAPABILITIES_META_KEY]: this.capabilitiesOf(call.origin),
    };
    let next: Record<string, unknown> = { ...params, _meta: meta };
    for (let round = 0; ; round++) {
      // Everything the SDK does for this exchange runs in the call's context: a message on its response stream is
      // read there, so it is known to be this call's (the wire names no call on a notification).
      const result: unknown = await inCall.run({ origin: call.origin }, () =>
        this.client.request({ method, params: next }, withInputRequired(schema), {
          signal: call.signal,
          timeout: Math.max(1, deadline - performance.now()),
          onprogress: call.onProgress,
          allowInputRequired: mayAsk,
        }),
      );
      if (!isInputRequired(result)) return withoutServerInfo(result);
      if (round >= MAX_INPUT_ROUNDS) {
        throw new Error(`'${method}' still asked for input after ${MAX_INPUT_ROUNDS} rounds; the gateway gave up`);
      }
      next = await this.retryParams(params, meta, result, call);
    }
  }

  /** Notifications of the 2025 revisions that this one dropped (`notifications/roots/list_changed`) are not sent. */
  async notify(notification: Notification): Promise<void> {
    if (notification.method === 'notifications/roots/list_changed') return;
    await this.client.notification(notification);
  }

  async close(): Promise<void> {
    this.closing = true;
    const streams = [...(this.subscription ? [this.subscription] : []), ...this.resourceStreams.values()];
    await Promise.allSettled(streams.map((s) => s.close()));
    await this.client.close();
  }

  /**
   * The 2025 `resources/subscribe` (a session's, or the 2026 front door's listen streams asking the upstream) has no
   * method of its own on this revision: the URI gets a `subscriptions/listen` stream with `resourceSubscriptions`,
   * whose `notifications/resources/updated` reach the engine as a 2025 upstream's do. Unsubscribing closes it. An
   * upstream that does not announce `resources.subscribe` refuses, as a 2025 one without the method would.
   */
  private async resourceSubscription(method: string, uri: string, timeoutMs: number): Promise<void> {
    if (method === 'resources/unsubscribe') {
      const stream = this.resourceStreams.get(uri);
      this.resourceStreams.delete(uri);
      await stream?.close();
      return;
    }
    if (this.resourceStreams.has(uri)) return;
    if (!this.client.getServerCapabilities()?.resources?.subscribe) {
      throw new ProtocolError(
        ErrorCode.MethodNotFound,
        `'${this.options.serverId}' does not offer resource subscriptions`,
      );
    }
    const stream = await this.client.listen({ resourceSubscriptions: [uri] }, { timeout: timeoutMs });
    this.resourceStreams.set(uri, stream);
    void stream.closed.then(() => {
      if (this.resourceStreams.get(uri) === stream) this.resourceStreams.delete(uri);
    });
  }

  private async retryParams(
    params: Record<string, unknown> | undefined,
    meta: Record<string, unknown>,
    asked: InputRequiredResult,
    call: ModernCall,
  ): Promise<Record<string, unknown>> {
    const signal = call.signal ?? new AbortController().signal;
    const inputResponses = await askOrigin(asked.inputRequests ?? {}, call.origin, signal);
    return {
      ...params,
      _meta: meta,
      inputResponses,
      ...(asked.requestState !== undefined ? { requestState: asked.requestState } : {}),
    };
  }

  /** The call's client capabilities: its origin's, else what the gateway forwards; none for a call nobody answers. */
  private capabilitiesOf(origin: CallOrigin | undefined): Record<string, unknown> {
    if (!origin?.answers) return {};
    return { ...(origin.clientCapabilities ?? this.options.capabilities) };
  }

  /** Opens the listen stream for the list changes the upstream announces (none announced: no stream). */
  private async listen(): Promise<void> {
    const caps = this.client.getServerCapabilities();
    const filter: SubscriptionFilter = {
      ...(caps?.tools?.listChanged ? { toolsListChanged: true } : {}),
      ...(caps?.prompts?.listChanged ? { promptsListChanged: true } : {}),
      ...(caps?.resources?.listChanged ? { resourcesListChanged: true } : {}),
    };
    if (Object.keys(filter).length === 0) return;
    try {
      this.subscription = await this.client.listen(filter, { timeout: this.options.timeoutMs });
    } catch (error) {
      // Calls work without it; only list changes go unheard until the next reconnect.
      this.options.onError(error as Error);
      return;
    }
    void this.subscription.closed.then((how) => {
      if (how !== 'local' && !this.closing) this.options.onListenEnded(how);
    });
  }
}

/** The upstream's `serverInfo` stamp on each result is this revision's envelope, not part of the result callers see. */
function withoutServerInfo(result: unknown): unknown {
  const meta = (result as { _meta?: Record<string, unknown> } | null)?._meta;
  if (!meta || !(SERVER_INFO_META_KEY in meta)) return result;
  const { [SERVER_INFO_META_KEY]: _info, ...rest } = meta;
  const copy = { ...(result as Record<string, unknown>) };
  if (Object.keys(rest).length > 0) copy._meta = rest;
  else delete copy._meta;
  return copy;
}
