import { mimeTypeMatches, uriMatcher, uriTemplateMatches } from './resource-matching';

describe('mimeTypeMatches', () => {
  it.each([
    ['text/plain', 'text', true],
    ['text/markdown; charset=utf-8', 'text', true],
    ['TEXT/Plain', 'text/plain', true],
    ['image/png', 'image/png', true],
    ['image/png', 'image', true],
    ['image/jpeg', 'image/png', false],
    ['textual/x', 'text', false],
    ['application/vnd.api+json', 'application/vnd.', true],
    [undefined, 'text', false],
  ])('%s against %s is %s', (mime, filter, expected) => {
    expect(mimeTypeMatches(mime, filter)).toBe(expected);
  });
});

describe('uriMatcher', () => {
  it('treats a pattern without * as a substring', () => {
    const match = uriMatcher('static/document');
    expect(match('demo://resource/static/document/a.md')).toBe(true);
    expect(match('demo://resource/dynamic/text/1')).toBe(false);
  });

  it('treats * as any run of characters, slashes included, anchored at both ends', () => {
    const match = uriMatcher('demo://*.md');
    expect(match('demo://resource/static/document/features.md')).toBe(true);
    expect(match('demo://resource/static/document/features.md.bak')).toBe(false);
    expect(match('file://x.md')).toBe(false);
  });

  it('escapes regular expression characters of the pattern', () => {
    const match = uriMatcher('file:///a(1)+*');
    expect(match('file:///a(1)+b')).toBe(true);
    expect(match('file:///a1b')).toBe(false);
  });
});

describe('uriTemplateMatches', () => {
  it('matches a simple variable to one path segment', () => {
    expect(uriTemplateMatches('demo://resource/dynamic/text/{resourceId}', 'demo://resource/dynamic/text/42')).toBe(
      true,
    );
    expect(uriTemplateMatches('demo://resource/dynamic/text/{resourceId}', 'demo://resource/dynamic/text/4/2')).toBe(
      false,
    );
    expect(uriTemplateMatches('demo://resource/dynamic/text/{resourceId}', 'demo://resource/dynamic/blob/42')).toBe(
      false,
    );
  });

  it('matches reserved expansion across slashes and an optional query', () => {
    expect(uriTemplateMatches('file:///{+path}', 'file:///etc/hosts')).toBe(true);
    expect(uriTemplateMatches('https://api.example/items{?page,limit}', 'https://api.example/items?page=2')).toBe(true);
    expect(uriTemplateMatches('https://api.example/items{?page,limit}', 'https://api.example/items')).toBe(true);
  });
});
