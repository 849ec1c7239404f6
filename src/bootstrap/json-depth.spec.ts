import { jsonDeeperThan } from './fastify-adapter';

describe('jsonDeeperThan', () => {
  it('counts nested arrays and objects', () => {
    expect(jsonDeeperThan('[[[1]]]', 3)).toBe(false);
    expect(jsonDeeperThan('[[[[1]]]]', 3)).toBe(true);
    expect(jsonDeeperThan('{"a":{"b":[{}]}}', 4)).toBe(false);
    expect(jsonDeeperThan('{"a":{"b":[{"c":{}}]}}', 4)).toBe(true);
  });

  it('measures the deepest point, not the total of brackets', () => {
    expect(jsonDeeperThan('[[1],[2],[3],[4],[5]]', 2)).toBe(false);
  });

  it('ignores brackets inside strings, escaped quotes included', () => {
    expect(jsonDeeperThan(JSON.stringify({ text: '[[[[[[{{{{' }), 1)).toBe(false);
    expect(jsonDeeperThan(JSON.stringify({ text: 'say \\"[[[[\\" and "[[[["' }), 1)).toBe(false);
    expect(jsonDeeperThan(JSON.stringify(['\\', [[1]]]), 2)).toBe(true);
  });
});
