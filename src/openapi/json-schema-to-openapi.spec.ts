import { componentName, mapToolSchema } from './json-schema-to-openapi';

describe('mapToolSchema', () => {
  it('hoists $defs into components and rewrites every local $ref into them', () => {
    const schema = {
      $schema: 'https://json-schema.org/draft/2020-12/schema',
      type: 'object',
      properties: {
        owner: { $ref: '#/$defs/Person' },
        friends: { type: 'array', items: { $ref: '#/$defs/Person' } },
        email: { type: 'string', format: 'email' },
        kind: { enum: ['a', 'b'] },
        either: { oneOf: [{ type: 'string' }, { $ref: '#/$defs/Person/properties/name' }] },
        again: { $ref: '#' },
      },
      $defs: { Person: { type: 'object', properties: { name: { type: 'string' }, boss: { $ref: '#/$defs/Person' } } } },
    };
    const original = structuredClone(schema);
    const mapped = mapToolSchema(schema, 'call_s__t.input');
    expect(schema).toEqual(original);
    expect(mapped.ref).toEqual({ $ref: '#/components/schemas/call_s__t.input' });
    expect(mapped.components).toEqual({
      'call_s__t.input': {
        type: 'object',
        properties: {
          owner: { $ref: '#/components/schemas/call_s__t.input.Person' },
          friends: { type: 'array', items: { $ref: '#/components/schemas/call_s__t.input.Person' } },
          email: { type: 'string', format: 'email' },
          kind: { enum: ['a', 'b'] },
          either: {
            oneOf: [{ type: 'string' }, { $ref: '#/components/schemas/call_s__t.input.Person/properties/name' }],
          },
          again: { $ref: '#/components/schemas/call_s__t.input' },
        },
      },
      'call_s__t.input.Person': {
        type: 'object',
        properties: { name: { type: 'string' }, boss: { $ref: '#/components/schemas/call_s__t.input.Person' } },
      },
    });
  });

  it('rewrites draft-07 forms to 2020-12: definitions, tuple items, dependencies, boolean bounds', () => {
    const mapped = mapToolSchema(
      {
        $schema: 'http://json-schema.org/draft-07/schema#',
        type: 'object',
        definitions: { Id: { type: 'integer', minimum: 0, exclusiveMinimum: true } },
        properties: {
          id: { $ref: '#/definitions/Id' },
          pair: { type: 'array', items: [{ type: 'string' }, { type: 'number' }], additionalItems: false },
        },
        dependencies: { a: ['b'], c: { required: ['d'] } },
      },
      'x',
    );
    expect(mapped.components).toEqual({
      x: {
        type: 'object',
        properties: {
          id: { $ref: '#/components/schemas/x.Id' },
          pair: { type: 'array', prefixItems: [{ type: 'string' }, { type: 'number' }], items: false },
        },
        dependentRequired: { a: ['b'] },
        dependentSchemas: { c: { required: ['d'] } },
      },
      'x.Id': { type: 'integer', exclusiveMinimum: 0 },
    });
  });

  it('leaves data keywords alone: a property named $ref, enum and default values', () => {
    const mapped = mapToolSchema(
      {
        type: 'object',
        properties: { $ref: { type: 'string', default: '#/x' } },
        default: { $ref: '#/not/a/ref' },
        enum: [{ $ref: '#' }],
      },
      'y',
    );
    expect(mapped.components.y).toEqual({
      type: 'object',
      properties: { $ref: { type: 'string', default: '#/x' } },
      default: { $ref: '#/not/a/ref' },
      enum: [{ $ref: '#' }],
    });
  });

  it('names an external $ref instead of pointing at something the document cannot resolve', () => {
    const mapped = mapToolSchema({ type: 'object', properties: { a: { $ref: 'https://example.com/a.json' } } }, 'z');
    expect(mapped.components.z).toEqual({
      type: 'object',
      properties: { a: { 'x-external-ref': 'https://example.com/a.json' } },
    });
  });

  it('gives a schema-less tool an object schema', () => {
    expect(mapToolSchema(undefined, 'n').components).toEqual({ n: { type: 'object' } });
  });
});

describe('componentName', () => {
  it('keeps valid names and makes others valid and distinct', () => {
    expect(componentName('Person_1.v-2')).toBe('Person_1.v-2');
    const a = componentName('a b');
    const b = componentName('a/b');
    expect(a).toMatch(/^[A-Za-z0-9._-]+$/);
    expect(b).toMatch(/^[A-Za-z0-9._-]+$/);
    expect(a).not.toBe(b);
  });
});
