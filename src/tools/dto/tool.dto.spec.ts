import { type ArgumentMetadata, ValidationPipe } from '@nestjs/common';
import { AppException } from 'src/common/errors/app.exception';
import { createValidationPipe } from 'src/common/errors/validation.pipe';
import { ExecuteOnServerDto, ExecuteToolDto, ServerToolParamDto, ToolNameParamDto } from './tool.dto';

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

describe('fast checks of the execute DTOs', () => {
  const fast = createValidationPipe();
  const full = fullPipe();

  it.each([ExecuteOnServerDto, ExecuteToolDto])('%p: same answer as class-validator for every body', async (dto) => {
    for (const value of bodies) {
      const [a, b] = await Promise.all([outcome(fast, value, body(dto)), outcome(full, value, body(dto))]);
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
    const result = await outcome(fast, { parameters: 'x', timeout: 0 }, body(ExecuteOnServerDto));
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
    expect(await fast.transform(value, body(ExecuteOnServerDto))).toBe(value);
    // and the full path builds a class instance instead
    expect(await full.transform(value, body(ExecuteOnServerDto))).toBeInstanceOf(ExecuteOnServerDto);
  });
});
