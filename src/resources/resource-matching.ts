/**
 * Pure matching rules of the resource catalog: MIME type filter, URI pattern, and URI templates (RFC 6570 subset).
 * Kept apart from the service so they are tested without an engine.
 */

/** A URI has a scheme (RFC 3986: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) ":"). */
export const URI_SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*:/;
export const MAX_URI_LENGTH = 2048;

/**
 * `type` of `GET /api/resources`: `text` matches every `text/*`, `image/png` matches `image/png` (parameters such as
 * `; charset=utf-8` ignored), case-insensitively. A resource without a MIME type never matches.
 */
export function mimeTypeMatches(mimeType: string | undefined, filter: string): boolean {
  if (!mimeType) return false;
  const mime = mimeType.split(';')[0]!.trim().toLowerCase();
  const wanted = filter.trim().toLowerCase().replace(/\/$/, '');
  if (wanted === '' || wanted === '*' || wanted === '*/*') return true;
  return mime === wanted || mime.startsWith(`${wanted}/`) || (wanted.includes('/') && mime.startsWith(wanted));
}

/**
 * `uri_pattern` of `GET /api/resources`: a glob when it contains `*` (`*` = any run of characters, `/` included;
 * anchored at both ends), otherwise a plain substring. Case-sensitive, as URIs are.
 */
export function uriMatcher(pattern: string): (uri: string) => boolean {
  if (!pattern.includes('*')) return (uri) => uri.includes(pattern);
  const source = pattern
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  const regex = new RegExp(`^${source}$`, 's');
  return (uri) => regex.test(uri);
}

/**
 * Whether a concrete URI is one a URI template (RFC 6570) can produce. Simple `{var}` expands to one path segment,
 * reserved `{+var}` / fragment `{#var}` to anything, form-style query `{?a,b}` / `{&a}` to an optional query; other
 * operators match conservatively (any run of characters).
 */
export function uriTemplateMatches(template: string, uri: string): boolean {
  let source = '';
  let last = 0;
  for (const match of template.matchAll(/\{([^}]*)\}/g)) {
    source += escape(template.slice(last, match.index));
    const op = match[1]!.charAt(0);
    switch (op) {
      case '+':
      case '#':
        source += op === '#' ? '(?:#.*)?' : '.*';
        break;
      case '?':
      case '&':
        source += '(?:[?&].*)?';
        break;
      case '/':
        source += '(?:/[^?#]*)?';
        break;
      case '.':
      case ';':
        source += '[^/?#]*';
        break;
      default:
        source += '[^/?#]+';
    }
    last = match.index + match[0].length;
  }
  source += escape(template.slice(last));
  return new RegExp(`^${source}$`, 's').test(uri);
}

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
