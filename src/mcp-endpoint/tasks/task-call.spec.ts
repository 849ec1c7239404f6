import { TaskCall } from './task-call';

const ELICIT = { mode: 'form', message: 'Name?', requestedSchema: { type: 'object', properties: {} } };
const HANDLE = { resultType: 'task', taskId: 't-1', status: 'working' };
const never = new AbortController().signal;

/** A TaskCall whose upstream work is `work`, with a window of `windowMs`. */
function started(windowMs: number, work: (call: TaskCall) => Promise<unknown>): TaskCall {
  const call = new TaskCall({ elicitation: {} }, windowMs, () => HANDLE);
  call.start(() => work(call));
  return call;
}

describe('TaskCall', () => {
  it('a question within the window is an input-required round; after the answer, the window ends in the handle', async () => {
    const call = started(50, async (c) => {
      await c.request('elicitation/create', ELICIT, never);
      await new Promise((resolve) => setTimeout(resolve, 5_000).unref());
    });
    const first = await call.next(never);
    expect(first).toEqual(expect.objectContaining({ kind: 'input', requests: expect.any(Object) }));
    expect(call.handedOut).toBe(false);
    call.answer({ 'elicitation-1': { action: 'accept', content: {} } });
    expect(await call.next(never)).toEqual({ kind: 'done', result: HANDLE });
    expect(call.handedOut).toBe(true);
  });

  it('a call that ends within the window is handed out as a task too (a required tool is only ever a task)', async () => {
    const call = started(1_000, () => Promise.resolve({ content: [] }));
    expect(await call.next(never)).toEqual({ kind: 'done', result: HANDLE });
    const failing = started(1_000, () => Promise.reject(new Error('boom')));
    expect(await failing.next(never)).toEqual({ kind: 'done', result: HANDLE });
  });

  it('once handed out, questions stay outstanding for tasks/get instead of forming rounds', async () => {
    const call = started(1_000, (c) => c.request('elicitation/create', ELICIT, never));
    call.handedOut = true;
    expect(await call.next(never)).toEqual({ kind: 'done', result: HANDLE });
    await new Promise((resolve) => setImmediate(resolve));
    expect(call.outstanding()).toEqual({ 'elicitation-1': { method: 'elicitation/create', params: ELICIT } });
  });

  it('the client hanging up within the window rejects (the caller cancels the call)', async () => {
    const call = started(5_000, () => new Promise(() => undefined));
    const hangUp = new AbortController();
    const step = call.next(hangUp.signal);
    hangUp.abort(new Error('gone'));
    await expect(step).rejects.toThrow('gone');
    expect(call.handedOut).toBe(false);
  });
});
