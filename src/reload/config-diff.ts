import { isDeepStrictEqual } from 'node:util';
import type { AppConfig, ServerEntry } from 'src/config/config.schema';

export interface ServersDiff {
  added: string[];
  removed: string[];
  changed: string[];
  unchanged: string[];
}

/** Which server ids a new `mcp.servers` adds, removes or changes (any field differs) compared with the old one. */
export function diffServers(
  before: Readonly<Record<string, ServerEntry>>,
  after: Readonly<Record<string, ServerEntry>>,
): ServersDiff {
  const diff: ServersDiff = { added: [], removed: [], changed: [], unchanged: [] };
  for (const id of Object.keys(after).sort()) {
    if (!(id in before)) diff.added.push(id);
    else if (isDeepStrictEqual(before[id], after[id])) diff.unchanged.push(id);
    else diff.changed.push(id);
  }
  for (const id of Object.keys(before).sort()) if (!(id in after)) diff.removed.push(id);
  return diff;
}

const isTree = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Dotted key paths (schema names, e.g. `logging.level.root`) whose values differ between two configurations,
 * `mcp.servers` excluded (a reload applies it). Lists and leaves compare as a whole; a subtree present on one
 * side only is reported at its root.
 */
export function changedKeys(before: AppConfig, after: AppConfig): string[] {
  const out: string[] = [];
  const walk = (a: unknown, b: unknown, prefix: string[]) => {
    if (prefix.join('.') === 'mcp.servers') return;
    if (isTree(a) && isTree(b)) {
      for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) walk(a[key], b[key], [...prefix, key]);
      return;
    }
    if (!isDeepStrictEqual(a, b)) out.push(prefix.join('.'));
  };
  walk(before, after, []);
  return out.sort();
}
