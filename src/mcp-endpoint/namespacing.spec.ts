import { matchesTemplate, namespaced, splitNamespaced } from './namespacing';

describe('namespacing', () => {
  it('joins server id and name with the separator', () => {
    expect(namespaced('everything', 'echo', '__')).toBe('everything__echo');
    expect(namespaced('a.b', 'x-y', '.')).toBe('a.b.x-y');
  });

  it('keeps names within 128 characters: cut and hashed, stable and distinct', () => {
    const long = 'x'.repeat(150);
    const a = namespaced('server', long, '__');
    expect(a).toHaveLength(128);
    expect(a).toMatch(/^server__x+-[0-9a-f]{8}$/);
    expect(namespaced('server', long, '__')).toBe(a);
    expect(namespaced('server', `${long}y`, '__')).not.toBe(a);
    expect(namespaced('s', 'x'.repeat(125), '__')).toHaveLength(128);
  });

  it('reads the longest known server id back, the rest unchanged', () => {
    const ids = ['a', 'a__b', 'other'];
    expect(splitNamespaced('a__b__x', ids, '__')).toEqual({ serverId: 'a__b', name: 'x' });
    expect(splitNamespaced('a__x__y', ids, '__')).toEqual({ serverId: 'a', name: 'x__y' });
    expect(splitNamespaced('other__', ids, '__')).toBeUndefined();
    expect(splitNamespaced('unknown__x', ids, '__')).toBeUndefined();
    expect(splitNamespaced('echo', ids, '__')).toBeUndefined();
  });

  it('matches URIs against RFC 6570 templates', () => {
    expect(matchesTemplate('demo://resource/dynamic/text/7', 'demo://resource/dynamic/text/{index}')).toBe(true);
    expect(matchesTemplate('demo://resource/dynamic/text/7/8', 'demo://resource/dynamic/text/{index}')).toBe(false);
    expect(matchesTemplate('file:///a/b/c.txt', 'file:///{+path}')).toBe(true);
    expect(matchesTemplate('x://a.b', 'x://a{c}')).toBe(true);
    expect(matchesTemplate('x://aXb', 'x://a.b')).toBe(false);
  });
});
