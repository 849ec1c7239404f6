import { acceptsExplicitly, hasPreference } from './preferences';

describe('hasPreference (Prefer, RFC 7240)', () => {
  it.each([
    ['respond-async', true],
    ['RESPOND-ASYNC', true],
    ['wait=5, respond-async', true],
    ['respond-async; foo=bar, wait=10', true],
    [['handling=lenient', 'respond-async'], true],
    ['wait=5; respond-async', false], // a parameter of `wait`
    ['respond-asyncx', false],
    ['x-respond-async', false],
    ['return=minimal', false],
    ['', false],
    [undefined, false],
  ])('%j → %s', (header, expected) => {
    expect(hasPreference(header, 'respond-async')).toBe(expected);
  });
});

describe('acceptsExplicitly (Accept, RFC 9110)', () => {
  it.each([
    ['text/event-stream', true],
    ['application/json, text/event-stream', true],
    ['TEXT/EVENT-STREAM; charset=utf-8', true],
    ['text/event-stream;q=0.5, application/json', true],
    ['text/event-stream;q=0', false],
    ['text/event-stream; q=0.000', false],
    ['*/*', false],
    ['text/*', false],
    ['application/json', false],
    ['text/event-streams', false],
    [undefined, false],
  ])('%j → %s', (header, expected) => {
    expect(acceptsExplicitly(header, 'text/event-stream')).toBe(expected);
  });
});
