import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { ClientCalls } from './client-calls';

describe('ClientCalls', () => {
  it('aborts a tracked request on cancel, and only that one', () => {
    const calls = new ClientCalls();
    const a = calls.track('s1', 1);
    const b = calls.track('s1', 2);
    expect(calls.cancel('s1', 1, 'user')).toBe(true);
    expect(a.signal.aborted).toBe(true);
    expect(b.signal.aborted).toBe(false);
    expect(calls.cancel('s2', 2)).toBe(false);
    a.done();
    b.done();
    expect(calls.cancel('s1', 2)).toBe(false);
  });

  it('follows the parent signal', () => {
    const parent = new AbortController();
    const tracked = new ClientCalls().track('s', 'x', parent.signal);
    parent.abort();
    expect(tracked.signal.aborted).toBe(true);
  });

  it('settles a waiting server-to-client request with the result or the error of the same session and id', async () => {
    const calls = new ClientCalls();
    const signal = new AbortController().signal;
    const ok = calls.wait('s', 'g-1', 5_000, signal);
    const failed = calls.wait('s', 'g-2', 5_000, signal);
    expect(calls.settle('other', { jsonrpc: '2.0', id: 'g-1', result: {} })).toBe(false);
    expect(calls.settle('s', { jsonrpc: '2.0', id: 'g-1', result: { ok: true } })).toBe(true);
    expect(calls.settle('s', { jsonrpc: '2.0', id: 'g-2', error: { code: -1, message: 'declined' } })).toBe(true);
    await expect(ok).resolves.toEqual({ ok: true });
    await expect(failed).rejects.toMatchObject({ code: -1 });
    expect(calls.waiting).toBe(0);
  });

  it('gives up after the timeout or when the upstream cancels', async () => {
    const calls = new ClientCalls();
    await expect(calls.wait('s', 'late', 5, new AbortController().signal)).rejects.toBeInstanceOf(McpError);
    const upstream = new AbortController();
    const waiting = calls.wait('s', 'cancelled', 5_000, upstream.signal);
    upstream.abort();
    await expect(waiting).rejects.toBeInstanceOf(McpError);
    expect(calls.waiting).toBe(0);
  });
});
