import type { ServerEvent } from '@modelcontextprotocol/server';
import type { CatalogView } from '../catalog-view';
import { type ListenContext, ListenFanout } from './listen-fanout';

/** A view over a mutable catalog: `servers` it includes, tools per server, and a tool filter standing for policy. */
function viewOf(
  catalog: Record<string, string[]>,
  servers: string[],
  visible: (tool: string) => boolean = () => true,
): CatalogView {
  return {
    includes: (id: string) => servers.includes(id),
    tools: () => servers.flatMap((id) => (catalog[id] ?? []).filter(visible).map((name) => ({ name }))),
    prompts: () => [],
    resources: () => [],
    resourceTemplates: () => [],
  } as unknown as CatalogView;
}

function context(view: CatalogView, key: string, resources: ListenContext['resources'] = []): ListenContext {
  return { key, view, resources, extra: undefined };
}

describe('ListenFanout', () => {
  let catalog: Record<string, string[]>;
  let fanout: ListenFanout;
  let opened: string[];
  let closed: string[];

  beforeEach(() => {
    catalog = { a: ['one'], b: ['two'] };
    opened = [];
    closed = [];
    fanout = new ListenFanout({ opened: (c) => opened.push(c.key), closed: (c) => closed.push(c.key) });
  });

  /** Subscribes a listener the way the SDK's router does: synchronously, inside the request's context. */
  function listener(ctx: ListenContext): { events: ServerEvent[]; stop: () => void } {
    const events: ServerEvent[] = [];
    const stop = fanout.within(ctx, () => fanout.subscribe((e) => events.push(e)));
    return { events, stop };
  }

  it('refuses a stream outside a request: it would have no caller to filter for', () => {
    expect(() => fanout.subscribe(() => undefined)).toThrow(/outside a request/);
  });

  it('keeps the context across awaits, as around the SDK handling one request', async () => {
    const ctx = context(viewOf(catalog, ['a']), 'k');
    const seen = await fanout.within(ctx, async () => {
      await Promise.resolve();
      return fanout.current();
    });
    expect(seen).toBe(ctx);
    expect(fanout.current()).toBeUndefined();
  });

  it('tells a list change only to streams whose view includes the server', () => {
    const onA = listener(context(viewOf(catalog, ['a']), 'p1\na'));
    const onB = listener(context(viewOf(catalog, ['b']), 'p1\nb'));
    catalog.a = ['one', 'three'];
    fanout.listsChanged('a', ['tools']);
    expect(onA.events).toEqual([{ kind: 'tools_list_changed' }]);
    expect(onB.events).toEqual([]);
  });

  it('tells a caller only a change of what it may see (policy), once per change', () => {
    const all = listener(context(viewOf(catalog, ['a']), 'admin\n*'));
    const filtered = listener(
      context(
        viewOf(catalog, ['a'], (t) => !t.startsWith('secret')),
        'user\n*',
      ),
    );
    catalog.a = ['one', 'secret_tool'];
    fanout.listsChanged('a', ['tools']);
    expect(all.events).toHaveLength(1);
    expect(filtered.events).toHaveLength(0);
    // The same catalog again (a refresh that changed nothing this caller sees): nothing more.
    fanout.listsChanged('a', ['tools']);
    expect(all.events).toHaveLength(1);
    catalog.a = ['one', 'secret_tool', 'public_tool'];
    fanout.listsChanged('a', ['tools']);
    expect(all.events).toHaveLength(2);
    expect(filtered.events).toEqual([{ kind: 'tools_list_changed' }]);
  });

  it('tells a removed server as a change of each list the caller saw it in', () => {
    const onA = listener(context(viewOf(catalog, ['a']), 'k'));
    delete catalog.a;
    fanout.listsChanged('a', ['tools', 'prompts', 'resources']);
    // Prompts and resources of the fake are always empty: unchanged, not told.
    expect(onA.events).toEqual([{ kind: 'tools_list_changed' }]);
  });

  it('delivers a resource update only to streams that asked for the URI on that server', () => {
    const view = viewOf(catalog, ['a', 'b']);
    const x = listener(context(view, 'k', [{ uri: 'res://x', serverId: 'a' }]));
    const y = listener(context(view, 'k', [{ uri: 'res://y', serverId: 'a' }]));
    fanout.resourceUpdated('a', 'res://x', { uri: 'res://x', title: 'X' });
    // The same URI from another server routes elsewhere in this view: not this stream's resource.
    fanout.resourceUpdated('b', 'res://x');
    expect(x.events).toEqual([{ kind: 'resource_updated', uri: 'res://x', params: { uri: 'res://x', title: 'X' } }]);
    expect(y.events).toEqual([]);
  });

  it('forgets a stream once, whatever the number of unsubscribes, and reports opened/closed', () => {
    const one = listener(context(viewOf(catalog, ['a']), 'one'));
    expect(fanout.size).toBe(1);
    expect(opened).toEqual(['one']);
    one.stop();
    one.stop();
    expect(fanout.size).toBe(0);
    expect(closed).toEqual(['one']);
    catalog.a = ['changed'];
    fanout.listsChanged('a', ['tools']);
    expect(one.events).toEqual([]);
  });

  it('keeps delivering to the others when one stream throws', () => {
    const errors: Error[] = [];
    fanout = new ListenFanout({ onerror: (e) => errors.push(e) });
    fanout.within(context(viewOf(catalog, ['a']), 'k'), () =>
      fanout.subscribe(() => {
        throw new Error('broken stream');
      }),
    );
    const ok = listener(context(viewOf(catalog, ['a']), 'k'));
    fanout.publish({ kind: 'prompts_list_changed' });
    expect(ok.events).toEqual([{ kind: 'prompts_list_changed' }]);
    expect(errors.map((e) => e.message)).toEqual(['broken stream']);
  });
});
