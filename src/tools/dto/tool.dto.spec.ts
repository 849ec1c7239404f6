import { type ArgumentMetadata, ValidationPipe } from '@nestjs/common';
import { AppException } from 'src/common/errors/app.exception';
import { createValidationPipe } from 'src/common/errors/validation.pipe';
import { parseIdempotencyKey, ToolArgumentsPipe } from './server-tool-call';
import { ExecuteToolDto, ServerToolCallQueryDto, ServerToolParamDto, ToolNameParamDto } from './tool.dto';

/** The same pipe with the fast checks bypassed: class-transformer + class-validator only. */
function fullPipe(): ValidationPipe {
  const pipe = createValidationPipe();
  return Object.assign(Object.create(ValidationPipe.prototype) as ValidationPipe, pipe);
}

async function outcome(pipe: ValidationPipe, value: unknown, metadata: ArgumentMetadata) {
  try {
    const out = (await pipe.transform(value, metadata)) as unknown;
    return { ok: true, value: JSON.parse(JSON.stringify(out)) as unknown };
  } catch (e) {
    if (!(e instanceof AppException)) throw e;
    return { ok: false, status: e.status, message: e.message, details: e.details };
  }
}

const body = (metatype: ArgumentMetadata['metatype']): ArgumentMetadata => ({ type: 'body', metatype });
const param = (metatype: ArgumentMetadata['metatype']): ArgumentMetadata => ({ type: 'param', metatype });
const query = (metatype: ArgumentMetadata['metatype']): ArgumentMetadata => ({ type: 'query', metatype });

const bodies: unknown[] = [
  { parameters: { message: 'hello' } },
  { parameters: {} },
  { parameters: { nested: { a: [1, 2, { b: null }] }, n: 1.5 } },
  { parameters: { message: 'x' }, timeout: 1 },
  { parameters: { message: 'x' }, timeout: 3_600_000 },
  { parameters: { message: 'x' }, timeout: 3_600_001 },
  { parameters: { message: 'x' }, timeout: 0 },
  { parameters: { message: 'x' }, timeout: -5 },
  { parameters: { message: 'x' }, timeout: 1.5 },
  { parameters: { message: 'x' }, timeout: '100' },
  { parameters: { message: 'x' }, timeout: null },
  { parameters: { message: 'x' }, server_id: 'everything' },
  { parameters: { message: 'x' }, server_id: 'bad id' },
  { parameters: { message: 'x' }, server_id: '' },
  { parameters: { message: 'x' }, server_id: 42 },
  { parameters: { message: 'x' }, server_id: null },
  { parameters: { message: 'x' }, extra: true },
  { parameters: { message: 'x' }, idempotency_key: 'k-1' },
  { parameters: { message: 'x' }, idempotency_key: 'k'.repeat(200) },
  { parameters: { message: 'x' }, idempotency_key: 'k'.repeat(201) },
  { parameters: { message: 'x' }, idempotency_key: '' },
  { parameters: { message: 'x' }, idempotency_key: 42 },
  { parameters: { message: 'x' }, idempotency_key: null },
  { parameters: { message: 'x' }, idempotency_key: 'a\u0000b' },
  { parameters: { message: 'x' }, idempotency_key: 'line\nbreak' },
  { parameters: { message: 'x' }, idempotency_key: 'ünïcode-😀' },
  { parameters: { message: 'x' }, mode: 'async' },
  { parameters: { message: 'x' }, mode: 'sync' },
  { parameters: { message: 'x' }, mode: 'later' },
  { parameters: { message: 'x' }, mode: null },
  { parameters: { message: 'x' }, mode: 1 },
  { parameters: { message: 'x' }, idempotency_key: 'k', server_id: 'everything', timeout: 5 },
  { parameters: [] },
  { parameters: 'text' },
  { parameters: null },
  {},
  { timeout: 10 },
  [],
  null,
  undefined,
  'string',
  42,
];

const params: Record<string, unknown>[] = [
  { name: 'echo' },
  { name: 'a/b.c-d_e' },
  { name: 'has space' },
  { name: 'x'.repeat(129) },
  { name: '' },
  { id: 'everything', tool: 'echo' },
  { id: '-bad', tool: 'echo' },
  { id: 'everything', tool: 'bad tool' },
  { id: 'everything' },
  { tool: 'echo' },
  { id: 'everything', tool: 'echo', extra: 'x' },
];

// As Fastify's query-string parser gives them: strings, a repeated key as an array.
const queries: Record<string, unknown>[] = [
  {},
  { mode: 'async' },
  { mode: 'sync' },
  { mode: 'later' },
  { mode: '' },
  { mode: ['async', 'sync'] },
  { timeout: '30000' },
  { timeout: '1' },
  { timeout: '3600000' },
  { timeout: '3600001' },
  { timeout: '0' },
  { timeout: '-1' },
  { timeout: '1.5' },
  { timeout: 'soon' },
  { timeout: '' },
  { timeout: ['1', '2'] },
  { timeout: '500', mode: 'async' },
  { parameters: '{}' },
  { idempotency_key: 'k' },
  // keys class-transformer skips on a class instance (inherited members), which the fast check must not let through
  { toString: '1' },
  { constructor: '1' },
  { mode: 'async', hasOwnProperty: 'x' },
  { timeout: '1e3' },
  { timeout: ' 7 ' },
];

describe('fast checks of the execute DTOs', () => {
  const fast = createValidationPipe();
  const full = fullPipe();

  it('ExecuteToolDto: same answer as class-validator for every body', async () => {
    for (const value of bodies) {
      const [a, b] = await Promise.all([
        outcome(fast, value, body(ExecuteToolDto)),
        outcome(full, value, body(ExecuteToolDto)),
      ]);
      expect({ value, outcome: a }).toEqual({ value, outcome: b });
    }
  });

  it('ServerToolCallQueryDto: same answer as class-validator for every query', async () => {
    for (const value of queries) {
      const [a, b] = await Promise.all([
        outcome(fast, value, query(ServerToolCallQueryDto)),
        outcome(full, value, query(ServerToolCallQueryDto)),
      ]);
      expect({ value, outcome: a }).toEqual({ value, outcome: b });
    }
  });

  it.each([ToolNameParamDto, ServerToolParamDto])('%p: same answer as class-validator for every path', async (dto) => {
    for (const value of params) {
      const [a, b] = await Promise.all([outcome(fast, value, param(dto)), outcome(full, value, param(dto))]);
      expect({ value, outcome: a }).toEqual({ value, outcome: b });
    }
  });

  it('names the field of a bad body in details.fields', async () => {
    const result = await outcome(fast, { parameters: 'x', timeout: 0 }, body(ExecuteToolDto));
    expect(result).toMatchObject({
      ok: false,
      status: 400,
      details: {
        fields: [
          { field: 'parameters', problems: ['parameters must be a JSON object'] },
          { field: 'timeout', problems: ['timeout must not be less than 1'] },
        ],
      },
    });
  });

  it('passes an accepted body through as the parsed object itself', async () => {
    const value = { parameters: { message: 'hello' }, timeout: 5 };
    expect(await fast.transform(value, body(ExecuteToolDto))).toBe(value);
    // and the full path builds a class instance instead
    expect(await full.transform(value, body(ExecuteToolDto))).toBeInstanceOf(ExecuteToolDto);
  });
});

describe('the options of POST /api/servers/{id}/tools/{tool}', () => {
  const full = fullPipe();

  it('reads timeout as a number of ms within the bounds and names a bad one', async () => {
    expect(await outcome(full, { timeout: '30000', mode: 'async' }, query(ServerToolCallQueryDto))).toEqual({
      ok: true,
      value: { timeout: 30000, mode: 'async' },
    });
    for (const timeout of ['0', '3600001', 'soon', '1.5']) {
      const result = await outcome(full, { timeout }, query(ServerToolCallQueryDto));
      expect(result).toMatchObject({ ok: false, status: 400, details: { fields: [{ field: 'timeout' }] } });
    }
    expect(await outcome(full, { mode: 'later' }, query(ServerToolCallQueryDto))).toMatchObject({
      ok: false,
      details: { fields: [{ field: 'mode', problems: ['mode must be sync or async'] }] },
    });
  });

  it('takes the body as the arguments: an object as is, no body as {}, anything else a 400 naming the body', () => {
    const pipe = new ToolArgumentsPipe();
    const args = { parameters: { nested: true }, message: 'x' };
    expect(pipe.transform(args)).toBe(args);
    expect(pipe.transform(undefined)).toEqual({});
    for (const value of [null, [], [{ message: 'x' }], 'text', 42, true]) {
      expect(() => pipe.transform(value)).toThrow(
        expect.objectContaining({ status: 400, details: { fields: [expect.objectContaining({ field: 'body' })] } }),
      );
    }
  });

  it('checks the Idempotency-Key header with the rules of idempotency_key', () => {
    expect(parseIdempotencyKey(undefined)).toBeUndefined();
    expect(parseIdempotencyKey('order-42')).toBe('order-42');
    expect(parseIdempotencyKey('k'.repeat(200))).toBe('k'.repeat(200));
    for (const bad of ['', 'k'.repeat(201), 'a\tb', 'a\u0000b', 'a\u007fb']) {
      expect(() => parseIdempotencyKey(bad)).toThrow(
        expect.objectContaining({
          status: 400,
          details: { fields: [expect.objectContaining({ field: 'Idempotency-Key' })] },
        }),
      );
    }
  });
});
