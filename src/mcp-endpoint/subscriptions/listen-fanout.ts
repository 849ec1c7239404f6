import type { ServerEvent, ServerEventBus } from '@modelcontextprotocol/server';
import { AsyncLocalStorage } from 'node:async_hooks';
import { createHash } from 'node:crypto';
import type { CatalogView } from '../catalog-view';

/** The lists a `subscriptions/listen` stream can follow. */
export type ListKind = 'tools' | 'prompts' | 'resources';
export const LIST_KINDS: readonly ListKind[] = ['tools', 'prompts', 'resources'];

const EVENT_OF: Record<ListKind, Exclude<ServerEvent['kind'], 'resource_updated'>> = {
  tools: 'tools_list_changed',
  prompts: 'prompts_list_changed',
  resources: 'resources_list_changed',
};

/** A resource URI a listener asked for, and the server it routes to in the listener's view. */
export interface ListenedResource {
  uri: string;
  serverId: string;
}

/** Who one listen stream is for: set around the SDK's handling of the request, read when its stream subscribes. */
export interface ListenContext<T = unknown> {
  /** Principal id and view: listeners with the same key see the same lists. */
  key: string;
  view: CatalogView;
  /** The requested `resourceSubscriptions` that route to a server of the view (the others never get an update). */
  resources: ListenedResource[];
  /** Whatever the owner needs back (the request's exchange). */
  extra: T;
  /** Lists the stream did not ask for but were put in its filter to keep it open (task-notifications.ts). */
  muted?: readonly ListKind[];
}

interface Listener {
  context: ListenContext;
  deliver: (event: ServerEvent) => void;
  /** What the caller saw of each list when last told (a digest): a change it cannot see is not announced. */
  seen: Partial<Record<ListKind, string>>;
}

export interface ListenFanoutHooks {
  opened?: (context: ListenContext) => void;
  closed?: (context: ListenContext) => void;
  onerror?: (error: Error) => void;
}

/**
 * The `ServerEventBus` of the gateway's `subscriptions/listen` streams (ADR 0006). SDK 2's listen router owns the
 * wire (acknowledgement, the caller's filter, subscription-id stamping, keep-alive, teardown) and subscribes one
 * listener per open stream; this class decides which upstream change reaches which stream, by what the caller may
 * see: only servers of its view (allow-list), and a list change only when the caller's own list changed (the view's
 * lists are filtered by policy, so another caller's tool appearing is not announced); a resource update only for a
 * URI the stream asked for, from the server that URI routes to in the view.
 *
 * The router's `bus.subscribe` carries nothing about its request, so the request's context travels by
 * AsyncLocalStorage: the gateway runs the SDK's handling of a listen request `within` its context, and the router
 * subscribes synchronously inside it (the stream's `start`).
 */
export class ListenFanout implements ServerEventBus {
  private readonly als = new AsyncLocalStorage<ListenContext>();
  private readonly listeners = new Set<Listener>();

  constructor(private readonly hooks: ListenFanoutHooks = {}) {}

  /** Runs `run` (the SDK's handling of one listen request) with its context. */
  within<R>(context: ListenContext, run: () => R): R {
    return this.als.run(context, run);
  }

  /** The context of the listen request being handled, if any. */
  current(): ListenContext | undefined {
    return this.als.getStore();
  }

  /** Streams open now. */
  get size(): number {
    return this.listeners.size;
  }

  subscribe(deliver: (event: ServerEvent) => void): () => void {
    const context = this.als.getStore();
    // Never a stream without a caller: it would see everything.
    if (!context) throw new Error('subscriptions/listen stream opened outside a request of the MCP front door');
    const seen: Listener['seen'] = {};
    for (const kind of LIST_KINDS) seen[kind] = digest(context.view, kind);
    const listener: Listener = { context, deliver, seen };
    this.listeners.add(listener);
    this.hooks.opened?.(context);
    let live = true;
    return () => {
      if (!live) return;
      live = false;
      this.listeners.delete(listener);
      this.hooks.closed?.(context);
    };
  }

  /** To every stream (the SDK's `notify` sugar; the gateway itself uses `listsChanged` and `resourceUpdated`). */
  publish(event: ServerEvent): void {
    for (const listener of [...this.listeners]) this.send(listener, event);
  }

  /** Lists of a server changed (catalog refreshed, server removed): told to each caller whose own list changed. */
  listsChanged(serverId: string, kinds: readonly ListKind[]): void {
    // Callers with the same principal and view see the same lists: one digest per key and kind per change.
    const digests = new Map<string, string>();
    for (const listener of [...this.listeners]) {
      const { view, key } = listener.context;
      if (!view.includes(serverId)) continue;
      for (const kind of kinds) {
        if (listener.context.muted?.includes(kind)) continue;
        const memo = `${kind}\n${key}`;
        const now = digests.get(memo) ?? digest(view, kind);
        digests.set(memo, now);
        if (listener.seen[kind] === now) continue;
        listener.seen[kind] = now;
        this.send(listener, { kind: EVENT_OF[kind] });
      }
    }
  }

  /** An upstream's `notifications/resources/updated`: to the streams that asked for the URI on that server. */
  resourceUpdated(serverId: string, uri: string, params?: Record<string, unknown>): void {
    for (const listener of [...this.listeners]) {
      if (!listener.context.resources.some((r) => r.uri === uri && r.serverId === serverId)) continue;
      this.send(listener, { kind: 'resource_updated', uri, ...(params ? { params } : {}) });
    }
  }

  private send(listener: Listener, event: ServerEvent): void {
    try {
      listener.deliver(event);
    } catch (error) {
      this.hooks.onerror?.(error instanceof Error ? error : new Error(String(error)));
    }
  }
}

/** A digest of what the view shows of one list (`resources`: resources and templates, one notification covers both). */
function digest(view: CatalogView, kind: ListKind): string {
  let shown: unknown;
  try {
    shown =
      kind === 'tools'
        ? view.tools()
        : kind === 'prompts'
          ? view.prompts()
          : [view.resources(), view.resourceTemplates()];
  } catch {
    // A server that left the registry: its view shows nothing.
    shown = null;
  }
  return createHash('sha1').update(JSON.stringify(shown)).digest('base64');
}
