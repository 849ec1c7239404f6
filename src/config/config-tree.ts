import { toCamel } from './schema-walker';

// The plain trees the loader merges: YAML documents, environment bindings, the merged configuration.

export type Tree = Record<string, unknown>;

export const isTree = (value: unknown): value is Tree =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

export function deepMerge(base: Tree, override: Tree): Tree {
  const out: Tree = { ...base };
  for (const [key, value] of Object.entries(override)) {
    const current = out[key];
    out[key] = isTree(current) && isTree(value) ? deepMerge(current, value) : value;
  }
  return out;
}

export function setPath(tree: Tree, keys: string[], value: unknown) {
  let node = tree;
  keys.forEach((key, index) => {
    if (index === keys.length - 1) {
      node[key] = value;
      return;
    }
    if (!isTree(node[key])) node[key] = {};
    node = node[key] as Tree;
  });
}

export function getPath(tree: Tree, keys: string[]): unknown {
  let node: unknown = tree;
  for (const key of keys) {
    if (!isTree(node)) return undefined;
    node = node[key] ?? node[toCamel(key)];
  }
  return node;
}

export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
