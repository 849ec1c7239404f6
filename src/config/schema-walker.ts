import { z } from 'zod';
import type { KeyMeta } from './config-types';

/**
 * Reads the zod configuration schema as data: which keys exist (for relaxed binding and unknown-key warnings),
 * which are maps of user-chosen keys, their metadata (docs, secrets, environment aliases).
 */

type Node =
  | { kind: 'object'; shape: Record<string, z.ZodType>; loose: boolean }
  | { kind: 'record'; value: z.ZodType }
  | { kind: 'leaf' };

interface ZodInternals {
  _zod: {
    def: {
      type: string;
      innerType?: z.ZodType;
      out?: z.ZodType;
      in?: z.ZodType;
      catchall?: z.ZodType;
      valueType?: z.ZodType;
      shape?: Record<string, z.ZodType>;
    };
  };
}

const internals = (schema: z.ZodType) => (schema as unknown as ZodInternals)._zod.def;

/** Strips optional/default/prefault/nullable/pipe wrappers to the schema that gives a key its shape. */
export function unwrap(schema: z.ZodType): z.ZodType {
  let current = schema;
  for (let i = 0; i < 20; i += 1) {
    const def = internals(current);
    if (def.innerType) current = def.innerType;
    else if (def.type === 'pipe' && def.out) current = internals(def.in!).type === 'transform' ? def.out : def.in!;
    else return current;
  }
  return current;
}

export function nodeOf(schema: z.ZodType): Node {
  const inner = unwrap(schema);
  const def = internals(inner);
  if (def.type === 'object' && def.shape) {
    return {
      kind: 'object',
      shape: def.shape,
      loose: def.catchall !== undefined && internals(def.catchall).type === 'unknown',
    };
  }
  if (def.type === 'record' && def.valueType) return { kind: 'record', value: def.valueType };
  return { kind: 'leaf' };
}

/** The metadata declared with `meta()`, looking through wrappers. */
export function metaOf(schema: z.ZodType): KeyMeta | undefined {
  let current: z.ZodType | undefined = schema;
  for (let i = 0; i < 20 && current; i += 1) {
    const found = z.globalRegistry.get(current) as KeyMeta | undefined;
    if (found?.description) return found;
    const def = internals(current);
    current =
      def.innerType ?? (def.type === 'pipe' ? (internals(def.in!).type === 'transform' ? def.out : def.in) : undefined);
  }
  return undefined;
}

export const toCamel = (key: string): string => key.replace(/[-_]+([a-zA-Z0-9])/g, (_, c: string) => c.toUpperCase());
export const toKebab = (key: string): string => key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

/** Finds the schema key that a file's key means under Spring's relaxed binding (kebab, camel, snake, any case). */
export function matchKey(shape: Record<string, z.ZodType>, key: string): string | undefined {
  // Own keys only: a file key such as `toString` or `constructor` must not match Object.prototype.
  if (Object.hasOwn(shape, key)) return key;
  const camel = toCamel(key);
  if (Object.hasOwn(shape, camel)) return camel;
  const folded = key.replace(/[-_]/g, '').toLowerCase();
  return Object.keys(shape).find((candidate) => candidate.toLowerCase() === folded);
}

/** Converts a zod issue path (camelCase schema keys, raw map keys) into the kebab-case path users write. */
export function displayPath(schema: z.ZodType, path: readonly PropertyKey[]): string {
  const parts: string[] = [];
  let current: z.ZodType | undefined = schema;
  for (const segment of path) {
    const key = String(segment);
    const node: Node | undefined = current ? nodeOf(current) : undefined;
    if (node?.kind === 'object') {
      parts.push(toKebab(key));
      current = node.shape[key];
    } else if (node?.kind === 'record') {
      parts.push(key);
      current = node.value;
    } else {
      parts.push(typeof segment === 'number' ? `[${key}]` : key);
      current = undefined;
    }
  }
  return parts.join('.').replace(/\.\[/g, '[');
}

/**
 * The environment variable spelling of a schema path: `['mcp','client','defaultTimeout']` is
 * `MCP_CLIENT_DEFAULT_TIMEOUT`, or with `dashless` (Spring's canonical form) `MCP_CLIENT_DEFAULTTIMEOUT`.
 */
export const envForm = (segments: readonly string[], dashless: boolean): string =>
  segments
    .map((s) =>
      (dashless
        ? s.replace(/[-_.]/g, '')
        : s.replace(/([a-z0-9])([A-Z])/g, '$1_$2').replace(/[-.]/g, '_')
      ).toUpperCase(),
    )
    .join('_');

/** Every environment variable name bound to a key, highest precedence first: relaxed, dashless, then declared aliases. */
export function envNamesOf(key: Pick<LeafKey, 'path' | 'meta'>): string[] {
  return [...new Set([envForm(key.path, false), envForm(key.path, true), ...(key.meta?.envAliases ?? [])])];
}

export interface LeafKey {
  /** Schema path (camelCase). */
  path: string[];
  /** Path as users write it (kebab-case). */
  display: string;
  schema: z.ZodType;
  meta: KeyMeta | undefined;
}

/** Every key that holds a value (leaves and maps), with its metadata, in declaration order. */
export function listKeys(schema: z.ZodType, prefix: string[] = []): LeafKey[] {
  const node = nodeOf(schema);
  // An ignored object is one key (its insides are never read); so is a free-form object such as `info`.
  if (
    node.kind === 'object' &&
    !(prefix.length > 0 && metaOf(schema)?.ignored) &&
    !(node.loose && Object.keys(node.shape).length === 0)
  ) {
    return Object.entries(node.shape).flatMap(([key, child]) => listKeys(child, [...prefix, key]));
  }
  return [{ path: prefix, display: prefix.map(toKebab).join('.'), schema, meta: metaOf(schema) }];
}
