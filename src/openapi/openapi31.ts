/**
 * Rewrites the OpenAPI 3.0 forms @nestjs/swagger emits into their 3.1 equivalents, in place: `nullable: true` becomes
 * a `null` member of `type` (and of `enum`), or an `anyOf` with `{type: 'null'}` next to a `$ref`/composition;
 * `nullable: false` is dropped. Operations without `security` (the public ones) get an explicit `security: []`, and
 * path parameters a templated path names but its operation does not declare are declared (as required strings).
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
  for (const [path, item] of Object.entries(paths)) {
    const templated = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]!);
    for (const method of ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace']) {
      const operation = item[method] as { security?: unknown; parameters?: { name: string; in: string }[] } | undefined;
      if (!operation) continue;
      if (operation.security === undefined) operation.security = [];
      // A route declared on several paths at once (@Get([...])) gets the parameters of none of them from
      // @nestjs/swagger: declare the missing ones, or the document is invalid.
      for (const name of templated) {
        if (operation.parameters?.some((p) => p.in === 'path' && p.name === name)) continue;
        operation.parameters = [
          ...(operation.parameters ?? []),
          { name, in: 'path', required: true, schema: { type: 'string' } } as { name: string; in: string },
        ];
      }
    }
  }
  return document;
}
