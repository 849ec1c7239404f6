import { createHash } from 'node:crypto';

/**
 * Names on the aggregated endpoint `/mcp`: `<server_id><separator><name>` for tools and prompts (default separator
 * `__`). Server ids and the separator use only `A-Z a-z 0-9 _ . -`, so a namespaced name is a valid MCP tool name
 * whenever the upstream's name is, and it depends on nothing but the two parts: stable across reconnects, restarts
 * and replicas.
 *
 * Reading a name back: the server is the longest known server id that, followed by the separator, starts the name
 * (ids `a` and `a__b` both exist: `a__b__x` is tool `x` of `a__b`, never tool `b__x` of `a`). The rest is the
 * upstream's name, unchanged. A name longer than 128 characters is cut to 119 and given `-` and 8 hex digits of the
 * SHA-256 of the whole name; such a name is found back by comparing with the server's names.
 */
export function namespaced(serverId: string, name: string, separator: string): string {
  const full = `${serverId}${separator}${name}`;
  if (full.length <= MAX_NAME_LENGTH) return full;
  // Too long for an MCP tool name: cut, and keep it unique and stable with a hash of the whole.
  const hash = createHash('sha256').update(full).digest('hex').slice(0, 8);
  return `${full.slice(0, MAX_NAME_LENGTH - 9)}-${hash}`;
}

/** Longest tool name MCP clients accept (specification 2025-11-25: 1 to 128 characters). */
export const MAX_NAME_LENGTH = 128;

export interface NamespacedRef {
  serverId: string;
  name: string;
}

/** The server and upstream name of a namespaced name, or undefined when no known server id prefixes it. */
export function splitNamespaced(
  value: string,
  serverIds: Iterable<string>,
  separator: string,
): NamespacedRef | undefined {
  let best: NamespacedRef | undefined;
  for (const serverId of serverIds) {
    const prefix = serverId + separator;
    if (value.length > prefix.length && value.startsWith(prefix) && serverId.length > (best?.serverId.length ?? -1)) {
      best = { serverId, name: value.slice(prefix.length) };
    }
  }
  return best;
}

/**
 * Whether a URI matches an RFC 6570 template as MCP servers write them (`test://static/resource/{id}`): each
 * `{expression}` matches one or more characters other than `/` (`{+path}` and `{/path}`-style expressions match
 * across `/`). Used to route `resources/read` of a URI no server lists to the server whose template produced it.
 */
export function matchesTemplate(uri: string, template: string): boolean {
  let pattern = '^';
  let last = 0;
  for (const match of template.matchAll(/\{([^}]*)\}/g)) {
    pattern += escapeRegExp(template.slice(last, match.index));
    const operator = match[1]?.charAt(0) ?? '';
    pattern += operator === '+' || operator === '#' || operator === '/' ? '.+' : '[^/]+';
    last = match.index + match[0].length;
  }
  pattern += `${escapeRegExp(template.slice(last))}$`;
  return new RegExp(pattern).test(uri);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
