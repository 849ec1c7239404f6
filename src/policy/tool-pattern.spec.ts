import { compileToolPattern } from './tool-pattern';

describe('compileToolPattern', () => {
  it('matches `*` as any run of characters and `?` as one, anchored at both ends', () => {
    const deletes = compileToolPattern('delete_*');
    expect(['delete_', 'delete_file', 'delete_a.b/c'].map((n) => deletes.test(n))).toEqual([true, true, true]);
    expect(['undelete_file', 'Delete_file', 'delete'].map((n) => deletes.test(n))).toEqual([false, false, false]);
    const one = compileToolPattern('get_?');
    expect([one.test('get_a'), one.test('get_ab'), one.test('get_')]).toEqual([true, false, false]);
    expect(compileToolPattern('*').test('anything-at.all/1')).toBe(true);
  });

  it('takes `.`, `-` and `/` literally', () => {
    const dotted = compileToolPattern('fs.read');
    expect([dotted.test('fs.read'), dotted.test('fsxread')]).toEqual([true, false]);
    expect(compileToolPattern('a-b/c').test('a-b/c')).toBe(true);
  });

  it('refuses a pattern outside the grammar instead of guessing', () => {
    for (const bad of ['', 'delete_[', 'a{b,c}', 'has space', 'x'.repeat(129), '(.*)', 'a+b']) {
      expect(() => compileToolPattern(bad)).toThrow(/invalid tool pattern/);
    }
  });
});
