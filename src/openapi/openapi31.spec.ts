import { upgradeToOpenApi31 } from './openapi31';

describe('upgradeToOpenApi31', () => {
  it('turns nullable into null types, null enum members or an anyOf with null', () => {
    const doc = upgradeToOpenApi31({
      components: {
        schemas: {
          A: {
            type: 'object',
            properties: {
              s: { type: 'string', nullable: true },
              e: { type: 'string', enum: ['x'], nullable: true },
              r: { $ref: '#/components/schemas/B', nullable: true, description: 'kept' },
              any: { nullable: true },
              no: { type: 'integer', nullable: false },
              nullable: { type: 'boolean' },
            },
          },
        },
      },
      paths: {},
    });
    expect(doc.components.schemas.A.properties).toEqual({
      s: { type: ['string', 'null'] },
      e: { type: ['string', 'null'], enum: ['x', null] },
      r: { anyOf: [{ $ref: '#/components/schemas/B' }, { type: 'null' }], description: 'kept' },
      any: {},
      no: { type: 'integer' },
      nullable: { type: 'boolean' },
    });
  });

  it('declares security: [] on operations that have none (public routes)', () => {
    const doc = upgradeToOpenApi31({
      paths: { '/a': { get: { responses: {} }, post: { security: [{ api_key: [] }], responses: {} } } },
    }) as { paths: Record<string, Record<string, { security?: unknown }>> };
    expect(doc.paths['/a']!.get!.security).toEqual([]);
    expect(doc.paths['/a']!.post!.security).toEqual([{ api_key: [] }]);
  });

  it('declares path parameters the path names but the operation lacks', () => {
    const doc = upgradeToOpenApi31({
      paths: {
        '/a/{x}/b/{y}': { get: { parameters: [{ name: 'x', in: 'path', required: true }], responses: {} } },
      },
    }) as { paths: Record<string, Record<string, { parameters?: unknown[] }>> };
    expect(doc.paths['/a/{x}/b/{y}']!.get!.parameters).toEqual([
      { name: 'x', in: 'path', required: true },
      { name: 'y', in: 'path', required: true, schema: { type: 'string' } },
    ]);
  });
});
