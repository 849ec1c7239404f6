import { McpError } from '@modelcontextprotocol/sdk/types.js';
import type { CallOrigin } from './call-origin';
import { askOrigin, isInputRequired } from './upstream-input';

function origin(answers: boolean, answer: (method: string) => Promise<unknown>) {
  const asked: string[] = [];
  const o: CallOrigin = {
    group: 'g',
    answers,
    request: (method) => {
      asked.push(method);
      return answer(method);
    },
  };
  return { o, asked };
}

describe('askOrigin (an upstream input_required round put to the call origin)', () => {
  const signal = new AbortController().signal;

  it('asks every request of the round at once and returns the answers under their keys', async () => {
    const pending: ((v: unknown) => void)[] = [];
    const { o, asked } = origin(true, () => new Promise((resolve) => pending.push(resolve)));
    const answers = askOrigin(
      {
        name: { method: 'elicitation/create', params: { message: 'Name?' } },
        llm: { method: 'sampling/createMessage' },
      },
      o,
      signal,
    );
    await Promise.resolve();
    // Both questions are out before either is answered: they reach the client together.
    expect(asked).toEqual(['elicitation/create', 'sampling/createMessage']);
    pending[1]!({ role: 'assistant' });
    pending[0]!({ action: 'accept' });
    await expect(answers).resolves.toEqual({ name: { action: 'accept' }, llm: { role: 'assistant' } });
  });

  it('refuses without an origin that answers (REST): nobody is asked', async () => {
    const { o, asked } = origin(false, () => Promise.resolve({}));
    await expect(askOrigin({ a: { method: 'elicitation/create' } }, o, signal)).rejects.toThrow(
      /'elicitation\/create'.*no client to ask/,
    );
    await expect(askOrigin({ a: { method: 'roots/list' } }, undefined, signal)).rejects.toBeInstanceOf(McpError);
    expect(asked).toEqual([]);
  });

  it("fails the round with the origin's refusal (a capability the client did not declare)", async () => {
    const { o } = origin(true, (m) =>
      m === 'roots/list' ? Promise.resolve({ roots: [] }) : Promise.reject(new Error('did not declare elicitation')),
    );
    await expect(
      askOrigin({ r: { method: 'roots/list' }, e: { method: 'elicitation/create' } }, o, signal),
    ).rejects.toThrow('did not declare elicitation');
  });

  it('needs nothing for an empty round', async () => {
    await expect(askOrigin({}, undefined, signal)).resolves.toEqual({});
  });

  it('tells input_required results from complete ones', () => {
    expect(isInputRequired({ resultType: 'input_required', inputRequests: {} })).toBe(true);
    expect(isInputRequired({ resultType: 'complete', content: [] })).toBe(false);
    expect(isInputRequired({ content: [] })).toBe(false);
    expect(isInputRequired(null)).toBe(false);
  });
});
