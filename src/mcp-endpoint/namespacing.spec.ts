import { matchesTemplate, namespaced, splitNamespaced } from './namespacing';

describe('namespacing', () => {
  it('joins server id and name with the separator', () => {
    expect(namespaced('everything', 'echo', '__')).toBe('everything__echo');
    expect(namespaced('a.b', 'x-y', '.')).toBe('a.b.x-y');
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
