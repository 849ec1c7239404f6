import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import { EngineErrorCode } from './engine-error';
import { ToolValidator } from './tool-validator';

const tool = (inputSchema: Record<string, unknown>, name = 't'): Tool => ({
  name,
  inputSchema: inputSchema as Tool['inputSchema'],
});

describe('ToolValidator', () => {
  it('compiles once per tool version', () => {
    const v = new ToolValidator();
    const schema = { type: 'object', properties: { a: { type: 'string' } }, required: ['a'] };
    v.validate('s', tool(schema), { a: 'x' });
    v.validate('s', tool({ ...schema }), { a: 'y' }); // same schema, new object (catalog refresh)
    expect(v.size).toBe(1);
    v.validate('s', tool({ ...schema, required: [] }), {});
    expect(v.size).toBe(2);
  });

  it('names the missing field and the wrong one (draft-07 default)', () => {
    const v = new ToolValidator();
    const t = tool({
      type: 'object',
      properties: { user: { type: 'object', properties: { age: { type: 'integer' } }, required: ['name'] } },
    });
    try {
      v.validate('s', t, { user: { age: 'old' } });
      throw new Error('expected a failure');
    } catch (e) {
      expect(e).toMatchObject({
        code: EngineErrorCode.INVALID_PARAMETERS,
        details: {
          errors: expect.arrayContaining([
            { path: '/user/name', message: expect.any(String) },
            { path: '/user/age', message: 'must be integer' },
          ]),
        },
      });
    }
  });

  it('uses 2020-12 when $schema says so (prefixItems) and checks formats', () => {
    const v = new ToolValidator();
    const t = tool({
      $schema: 'https://json-schema.org/draft/2020-12/schema',
      type: 'object',
      properties: {
        pair: { type: 'array', prefixItems: [{ type: 'string' }, { type: 'number' }] },
        at: { type: 'string', format: 'date-time' },
      },
    });
    expect(() => v.validate('s', t, { pair: ['a', 1], at: '2026-01-01T00:00:00Z' })).not.toThrow();
    expect(() => v.validate('s', t, { pair: [1, 'a'] })).toThrow(
      expect.objectContaining({ code: EngineErrorCode.INVALID_PARAMETERS }),
    );
    expect(() => v.validate('s', t, { at: 'yesterday' })).toThrow(
      expect.objectContaining({
        details: expect.objectContaining({ errors: [expect.objectContaining({ path: '/at' })] }),
      }),
    );
  });

  it('refuses numbers JSON cannot carry (1e400 parses to Infinity), with strict mode off for the schemas', () => {
    const v = new ToolValidator();
    const t = tool({ type: 'object', properties: { a: { type: 'number' }, n: { type: 'integer' } } });
    const body = JSON.parse('{"a":1e400}') as Record<string, unknown>;
    expect(body.a).toBe(Infinity);
    expect(() => v.validate('s', t, body)).toThrow(
      expect.objectContaining({ code: EngineErrorCode.INVALID_PARAMETERS }),
    );
    expect(() => v.validate('s', t, { n: Number.NaN })).toThrow(
      expect.objectContaining({ code: EngineErrorCode.INVALID_PARAMETERS }),
    );
    expect(() => v.validate('s', t, { a: 1.5e300, n: 3 })).not.toThrow();
  });

  it('lets arguments through when an upstream schema does not compile', () => {
    const v = new ToolValidator();
    expect(() =>
      v.validate('s', tool({ type: 'object', properties: { a: { type: 'no-such-type' } } }), { a: 1 }),
    ).not.toThrow();
  });
});
