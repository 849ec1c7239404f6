import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { PendingInput } from './pending-input';

const ELICIT = { mode: 'form', message: 'Name?', requestedSchema: { type: 'object', properties: {} } };
const SAMPLE = { messages: [{ role: 'user', content: { type: 'text', text: 'Hi' } }], maxTokens: 5 };
const ACCEPT = { action: 'accept', content: { name: 'Alice' } };
const SAMPLED = { role: 'assistant', content: { type: 'text', text: 'Hello' }, model: 'm' };

/** A call whose upstream work is `work` (it asks through the call, as the engine's connection would). */
function started(declared: Record<string, unknown>, work: (call: PendingInput) => Promise<unknown>): PendingInput {
  const call = new PendingInput(declared);
  call.start(() => work(call));
  return call;
}

const ask = (call: PendingInput, method: string, params: Record<string, unknown>) =>
  call.request(method, params, new AbortController().signal);

describe('PendingInput', () => {
  const never = new AbortController().signal;

  it("names the client's declared sampling, elicitation and roots as the call's capabilities, nothing else", () => {
    const call = new PendingInput({ elicitation: { form: {} }, roots: {}, extensions: { x: {} } });
    expect(call.clientCapabilities).toEqual({ elicitation: { form: {} }, roots: {} });
  });

  it('puts questions asked together in one round and resumes the call with the answers', async () => {
    const call = started({ elicitation: {}, sampling: {} }, async (c) => {
      const [name, text] = await Promise.all([
        ask(c, 'elicitation/create', ELICIT),
        ask(c, 'sampling/createMessage', SAMPLE),
      ]);
      return { content: [{ type: 'text', text: JSON.stringify({ name, text }) }] };
    });
    const first = await call.next(never);
    expect(first).toEqual({
      kind: 'input',
      round: 1,
      requests: {
        'elicitation-1': { method: 'elicitation/create', params: ELICIT },
        'sampling-2': { method: 'sampling/createMessage', params: SAMPLE },
      },
    });
    call.answer({ 'elicitation-1': ACCEPT, 'sampling-2': SAMPLED, unknown: { action: 'cancel' } });
    const done = await call.next(never);
    expect(done.kind).toBe('done');
    expect(JSON.stringify(done)).toContain('Alice');
    expect(call.finished).toBe(true);
  });

  it("keeps an upstream's own key for its question, but never gives one key twice in a call", async () => {
    const call = started({ elicitation: {} }, async (c) => {
      const first = await c.request('elicitation/create', ELICIT, never, 'user_name');
      // The upstream's next round reuses its key, and names another question as the gateway would.
      const [second, third] = await Promise.all([
        c.request('elicitation/create', ELICIT, never, 'user_name'),
        c.request('elicitation/create', ELICIT, never, 'elicitation-1'),
      ]);
      return { content: [{ type: 'text', text: JSON.stringify([first, second, third]) }] };
    });
    const one = await call.next(never);
    expect(one).toMatchObject({ kind: 'input', requests: { user_name: { method: 'elicitation/create' } } });
    call.answer({ user_name: ACCEPT });
    const two = await call.next(never);
    expect(two.kind).toBe('input');
    const keys = Object.keys((two as { requests: Record<string, unknown> }).requests).sort();
    expect(keys).toHaveLength(2);
    expect(keys).not.toContain('user_name');
    expect(keys).toContain('elicitation-1');
    call.answer(Object.fromEntries(keys.map((k) => [k, ACCEPT])));
    expect((await call.next(never)).kind).toBe('done');
  });

  it('asks again for what a retry left out, in a new round', async () => {
    const call = started({ elicitation: {}, sampling: {} }, (c) =>
      Promise.all([ask(c, 'elicitation/create', ELICIT), ask(c, 'sampling/createMessage', SAMPLE)]),
    );
    await call.next(never);
    call.answer({ 'elicitation-1': ACCEPT });
    const again = await call.next(never);
    expect(again).toMatchObject({ kind: 'input', round: 2 });
    expect(Object.keys((again as { requests: object }).requests)).toEqual(['sampling-2']);
  });

  it('refuses a malformed response before answering anything (the round stays open)', async () => {
    const call = started({ elicitation: {}, sampling: {} }, (c) =>
      Promise.all([ask(c, 'elicitation/create', ELICIT), ask(c, 'sampling/createMessage', SAMPLE)]),
    );
    await call.next(never);
    expect(() => call.answer({ 'elicitation-1': ACCEPT, 'sampling-2': 12345 })).toThrow(McpError);
    expect(() => call.answer({ 'elicitation-1': { action: 'maybe' } })).toThrow(/elicitation-1/);
    call.answer({ 'elicitation-1': ACCEPT, 'sampling-2': SAMPLED });
    expect((await call.next(never)).kind).toBe('done');
  });

  it('refuses to the upstream what the client did not declare; roots/list gets no roots', async () => {
    const call = started({ sampling: {} }, async (c) => {
      const roots = await ask(c, 'roots/list', {});
      const elicited = await ask(c, 'elicitation/create', ELICIT).catch((e: Error) => e.message);
      return { content: [{ type: 'text', text: JSON.stringify({ roots, elicited }) }] };
    });
    const step = await call.next(never);
    expect(step.kind).toBe('done');
    expect(JSON.stringify(step)).toContain('{\\"roots\\":[]');
    expect(JSON.stringify(step)).toContain("did not declare the 'elicitation' capability");
  });

  it('ends as the call ends: an upstream error is the step, open questions are given up', async () => {
    let asked: Promise<unknown> | undefined;
    const call = started({ elicitation: {} }, async (c) => {
      asked = ask(c, 'elicitation/create', ELICIT).catch((e: Error) => e.message);
      await new Promise((resolve) => setTimeout(resolve, 50));
      throw new McpError(-32001, 'Request timed out');
    });
    expect((await call.next(never)).kind).toBe('input');
    await new Promise((resolve) => setTimeout(resolve, 100)); // the retry comes after the upstream gave up
    expect(await call.next(never)).toEqual({ kind: 'failed', error: { code: -32001, message: 'Request timed out' } });
    expect(await asked).toMatch(/ended before the client answered/);
  });

  it('stops waiting when the client goes away; cancel() aborts the call', async () => {
    const call = started({ elicitation: {} }, () => new Promise(() => undefined));
    const gone = new AbortController();
    const waiting = call.next(gone.signal);
    gone.abort(new Error('client disconnected'));
    await expect(waiting).rejects.toThrow('client disconnected');
    call.cancel('given up');
    expect(call.signal.aborted).toBe(true);
  });
});
