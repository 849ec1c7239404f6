/**
 * Rewrites the OpenAPI 3.0 forms @nestjs/swagger emits into their 3.1 equivalents, in place: `nullable: true` becomes
 * a `null` member of `type` (and of `enum`), or an `anyOf` with `{type: 'null'}` next to a `$ref`/composition;
 * `nullable: false` is dropped. Operations without `security` (the public ones) get an explicit `security: []`.
 * Only boolean `nullable` keys are touched, so a property that happens to be called `nullable` is left alone.
 */
export function upgradeToOpenApi31<T extends object>(document: T): T {
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(walk);
    if (!node || typeof node !== 'object') return;
    const schema = node as Record<string, unknown>;
    for (const value of Object.values(schema)) walk(value);
    if (typeof schema.nullable !== 'boolean') return;
    const nullable = schema.nullable;
    delete schema.nullable;
    if (!nullable) return;
    if (typeof schema.type === 'string' || Array.isArray(schema.type)) {
      const types = Array.isArray(schema.type) ? (schema.type as unknown[]) : [schema.type];
      if (!types.includes('null')) schema.type = [...types, 'null'];
      if (Array.isArray(schema.enum) && !schema.enum.includes(null))
        schema.enum = [...(schema.enum as unknown[]), null];
      return;
    }
    const composite = ['$ref', 'allOf', 'oneOf', 'anyOf'].filter((k) => k in schema);
    if (composite.length === 0) return; // no type: null is allowed already
    const inner: Record<string, unknown> = {};
    for (const key of composite) {
      inner[key] = schema[key];
      delete schema[key];
    }
    schema.anyOf = [inner, { type: 'null' }];
  };
  walk(document);
  const paths = (document as { paths?: Record<string, Record<string, unknown>> }).paths ?? {};
  for (const item of Object.values(paths)) {
    for (const method of ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace']) {
      const operation = item[method] as { security?: unknown } | undefined;
      if (operation && operation.security === undefined) operation.security = [];
    }
  }
  return document;
}
