import type { JsonSchema } from './json-schema-to-openapi';

const FORMAT_EXAMPLES: Record<string, string> = {
  email: 'user@example.com',
  'date-time': '2026-01-01T12:00:00Z',
  date: '2026-01-01',
  time: '12:00:00Z',
  uuid: '00000000-0000-4000-8000-000000000000',
  uri: 'https://example.com/',
  url: 'https://example.com/',
  hostname: 'example.com',
  ipv4: '192.0.2.1',
  ipv6: '2001:db8::1',
};

const isObject = (value: unknown): value is JsonSchema =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * An example value of a schema for the "Try it out" body: `examples`/`const`/`default`/the first `enum` value when the
 * schema gives one, else a value of its type (format-aware strings, the minimum for numbers). Objects get their
 * required properties and those with a default or an example, so the body is valid without inventing optional
 * arguments. `$ref`s into `#/components/schemas/` are followed through `components` (bounded depth, for recursion).
 */
export function exampleOf(schema: unknown, components: Record<string, unknown>, depth = 0): unknown {
  if (!isObject(schema) || depth > 8) return undefined;
  if (typeof schema.$ref === 'string') {
    return exampleOf(resolve(schema.$ref, components), components, depth + 1);
  }
  if (Array.isArray(schema.examples) && schema.examples.length > 0) return schema.examples[0];
  if ('example' in schema) return schema.example;
  if ('const' in schema) return schema.const;
  if ('default' in schema) return schema.default;
  if (Array.isArray(schema.enum) && schema.enum.length > 0) return schema.enum[0];
  for (const key of ['oneOf', 'anyOf'] as const) {
    const first = Array.isArray(schema[key]) ? (schema[key] as unknown[])[0] : undefined;
    if (first !== undefined) return exampleOf(first, components, depth + 1);
  }
  if (Array.isArray(schema.allOf)) {
    const parts = (schema.allOf as unknown[]).map((part) => exampleOf(part, components, depth + 1));
    if (parts.every(isObject)) return Object.assign({}, ...parts) as unknown;
  }
  const type = Array.isArray(schema.type) ? (schema.type as unknown[]).find((t) => t !== 'null') : schema.type;
  switch (type) {
    case 'string':
      return typeof schema.format === 'string' && schema.format in FORMAT_EXAMPLES
        ? FORMAT_EXAMPLES[schema.format]
        : 'string';
    case 'integer':
    case 'number': {
      const min = typeof schema.minimum === 'number' ? schema.minimum : undefined;
      const exclusive = typeof schema.exclusiveMinimum === 'number' ? schema.exclusiveMinimum + 1 : undefined;
      return min ?? exclusive ?? 0;
    }
    case 'boolean':
      return false;
    case 'null':
      return null;
    case 'array': {
      const count = typeof schema.minItems === 'number' ? Math.min(schema.minItems, 3) : 0;
      return Array.from({ length: count }, () => exampleOf(schema.items, components, depth + 1) ?? null);
    }
    default: {
      if (type !== 'object' && !isObject(schema.properties)) return undefined;
      const properties = isObject(schema.properties) ? schema.properties : {};
      const required = new Set(Array.isArray(schema.required) ? (schema.required as string[]) : []);
      const out: Record<string, unknown> = {};
      for (const [name, property] of Object.entries(properties)) {
        const hinted = isObject(property) && ('default' in property || 'examples' in property || 'const' in property);
        if (!required.has(name) && !hinted) continue;
        const value = exampleOf(property, components, depth + 1);
        if (value !== undefined) out[name] = value;
      }
      return out;
    }
  }
}

function resolve(ref: string, components: Record<string, unknown>): unknown {
  const prefix = '#/components/schemas/';
  if (!ref.startsWith(prefix)) return undefined;
  const [name, ...rest] = ref.slice(prefix.length).split('/');
  let node: unknown = components[name!];
  for (const token of rest) node = isObject(node) ? node[token.replace(/~1/g, '/').replace(/~0/g, '~')] : undefined;
  return node;
}
