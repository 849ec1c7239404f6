import { createHash } from 'node:crypto';

/** A JSON Schema (2020-12 or an older draft) as an MCP server declares it. */
export type JsonSchema = Record<string, unknown>;

export interface MappedSchema {
  /** `$ref` to the component holding the schema itself. */
  ref: { $ref: string };
  /** Components to add under `components.schemas`: the schema and its hoisted `$defs`/`definitions`. */
  components: Record<string, JsonSchema>;
}

// Keywords whose value is one subschema, a map of subschemas, or a list of subschemas. Everything else (enum,
// const, default, examples, ...) is data and is never rewritten.
const SCHEMA_KEYWORDS = new Set([
  'additionalProperties',
  'items',
  'additionalItems',
  'contains',
  'propertyNames',
  'not',
  'if',
  'then',
  'else',
  'unevaluatedItems',
  'unevaluatedProperties',
  'contentSchema',
]);
const SCHEMA_MAP_KEYWORDS = new Set(['properties', 'patternProperties', '$defs', 'definitions', 'dependentSchemas']);
const SCHEMA_LIST_KEYWORDS = new Set(['allOf', 'anyOf', 'oneOf', 'prefixItems']);

const isObject = (value: unknown): value is JsonSchema =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Component names may only hold `[A-Za-z0-9._-]` (OpenAPI 3.1, components). */
export function componentName(raw: string): string {
  const clean = raw.replace(/[^A-Za-z0-9._-]/g, '_');
  return clean === raw ? clean : `${clean}_${shortHash(raw)}`;
}

export function shortHash(value: string): string {
  return createHash('sha256').update(value).digest('hex').slice(0, 8);
}

/**
 * Maps a tool's JSON Schema to OpenAPI 3.1 Schema Objects (which are JSON Schema 2020-12): the schema becomes the
 * component `name`, its root `$defs`/`definitions` become components `name.Def` (so generators name the types), and
 * every local `$ref` (`#`, `#/$defs/X`, `#/properties/...`) is rewritten to point into `components` (a `$ref` in an
 * OpenAPI document resolves against the document, not the tool's schema). Draft-04/07 forms are rewritten to their
 * 2020-12 equivalents (`definitions`, array `items` + `additionalItems`, `dependencies`, boolean exclusive bounds);
 * `$schema` and `$id` are dropped (the document declares the dialect). Everything else (oneOf, enum, format, ...)
 * is kept as is. The input is not modified.
 */
export function mapToolSchema(schema: unknown, name: string): MappedSchema {
  const root = toDraft2020(isObject(schema) ? structuredClone(schema) : { type: 'object' });
  const defsKey = isObject(root.$defs) ? '$defs' : undefined;
  const defs = (defsKey ? root[defsKey] : {}) as Record<string, unknown>;
  delete root.$defs;
  delete root.$schema;
  delete root.$id;

  const defName = (def: string) => `${name}.${componentName(def)}`;
  const rewrite = (ref: string): string | undefined => {
    if (!ref.startsWith('#')) return undefined;
    const pointer = ref.slice(1);
    const tokens = pointer.split('/').slice(1);
    if ((tokens[0] === '$defs' || tokens[0] === 'definitions') && tokens[1] !== undefined) {
      const def = tokens[1].replace(/~1/g, '/').replace(/~0/g, '~');
      if (Object.hasOwn(defs, def)) {
        const rest = tokens.slice(2);
        return `#/components/schemas/${defName(def)}${rest.length ? `/${rest.join('/')}` : ''}`;
      }
    }
    return `#/components/schemas/${name}${pointer}`;
  };

  const components: Record<string, JsonSchema> = { [name]: rewriteRefs(root, rewrite) };
  for (const [def, value] of Object.entries(defs)) {
    components[defName(def)] = rewriteRefs(isObject(value) ? value : value === false ? { not: {} } : {}, rewrite);
  }
  return { ref: { $ref: `#/components/schemas/${name}` }, components };
}

/** Rewrites `$ref` in schema positions only; an external `$ref` becomes an unconstrained schema that names it. */
function rewriteRefs(schema: JsonSchema, rewrite: (ref: string) => string | undefined): JsonSchema {
  const walk = (node: unknown): unknown => {
    if (!isObject(node)) return node;
    const out: JsonSchema = {};
    for (const [key, value] of Object.entries(node)) {
      if (key === '$ref' && typeof value === 'string') {
        const local = rewrite(value);
        if (local) out.$ref = local;
        else out['x-external-ref'] = value;
      } else if (SCHEMA_KEYWORDS.has(key)) {
        out[key] = Array.isArray(value) ? value.map(walk) : walk(value);
      } else if (SCHEMA_MAP_KEYWORDS.has(key) && isObject(value)) {
        out[key] = Object.fromEntries(Object.entries(value).map(([k, v]) => [k, walk(v)]));
      } else if (SCHEMA_LIST_KEYWORDS.has(key) && Array.isArray(value)) {
        out[key] = value.map(walk);
      } else {
        out[key] = value;
      }
    }
    return out;
  };
  return walk(schema) as JsonSchema;
}

/** Older-draft keywords rewritten to 2020-12, recursively (in place on the clone). */
function toDraft2020(schema: JsonSchema): JsonSchema {
  const visit = (node: unknown): void => {
    if (!isObject(node)) return;
    if (Array.isArray(node.items)) {
      node.prefixItems = node.items;
      if (node.additionalItems !== undefined) node.items = node.additionalItems;
      else delete node.items;
      delete node.additionalItems;
    }
    if (isObject(node.dependencies)) {
      for (const [property, dependency] of Object.entries(node.dependencies)) {
        const target = Array.isArray(dependency) ? 'dependentRequired' : 'dependentSchemas';
        node[target] = { ...(isObject(node[target]) ? node[target] : {}), [property]: dependency };
      }
      delete node.dependencies;
    }
    for (const [flag, bound] of [
      ['exclusiveMinimum', 'minimum'],
      ['exclusiveMaximum', 'maximum'],
    ] as const) {
      if (node[flag] === true && typeof node[bound] === 'number') {
        node[flag] = node[bound];
        delete node[bound];
      } else if (node[flag] === false) {
        delete node[flag];
      }
    }
    for (const [key, value] of Object.entries(node)) {
      if (SCHEMA_KEYWORDS.has(key)) {
        if (Array.isArray(value)) value.forEach(visit);
        else visit(value);
      } else if (SCHEMA_MAP_KEYWORDS.has(key) && isObject(value)) {
        Object.values(value).forEach(visit);
      } else if (SCHEMA_LIST_KEYWORDS.has(key) && Array.isArray(value)) {
        value.forEach(visit);
      }
    }
  };
  // Only the root's: a nested `definitions` keeps its place, so pointers into it still resolve.
  if (isObject(schema.definitions)) {
    schema.$defs = { ...schema.definitions, ...(isObject(schema.$defs) ? schema.$defs : {}) };
    delete schema.definitions;
  }
  visit(schema);
  return schema;
}
