import { exampleOf } from './schema-example';

describe('exampleOf', () => {
  it('fills required properties by type and format, keeps defaults and enums, skips other optional ones', () => {
    const schema = {
      type: 'object',
      properties: {
        message: { type: 'string' },
        email: { type: 'string', format: 'email' },
        count: { type: 'integer', minimum: 1 },
        level: { type: 'string', enum: ['low', 'high'] },
        steps: { type: 'number', default: 5 },
        note: { type: 'string' },
        tags: { type: 'array', items: { type: 'string' }, minItems: 1 },
        nullable: { type: ['string', 'null'] },
      },
      required: ['message', 'email', 'count', 'level', 'tags', 'nullable'],
    };
    expect(exampleOf(schema, {})).toEqual({
      message: 'string',
      email: 'user@example.com',
      count: 1,
      level: 'low',
      steps: 5,
      tags: ['string'],
      nullable: 'string',
    });
  });

  it('follows $refs into components (recursion bounded) and takes the first oneOf branch', () => {
    const components = {
      Customer: {
        type: 'object',
        properties: { email: { type: 'string', format: 'email' }, referrer: { $ref: '#/components/schemas/Customer' } },
        required: ['email'],
      },
    };
    const schema = {
      type: 'object',
      properties: {
        customer: { $ref: '#/components/schemas/Customer' },
        payment: { oneOf: [{ type: 'object', properties: { card: { type: 'string' } }, required: ['card'] }, {}] },
      },
      required: ['customer', 'payment'],
    };
    expect(exampleOf(schema, components)).toEqual({
      customer: { email: 'user@example.com' },
      payment: { card: 'string' },
    });
  });

  it('gives an empty object for a tool without arguments', () => {
    expect(exampleOf({ type: 'object', properties: {} }, {})).toEqual({});
    expect(exampleOf({ type: 'object' }, {})).toEqual({});
  });
});
