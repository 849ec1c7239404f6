import { type ArgumentMetadata, ValidationPipe } from '@nestjs/common';
import { AppException } from 'src/common/errors/app.exception';
import { createValidationPipe } from 'src/common/errors/validation.pipe';
import { McpServerParamDto } from './mcp-endpoint.dto';

/** The same pipe with the fast checks bypassed: class-transformer + class-validator only. */
function fullPipe(): ValidationPipe {
  const pipe = createValidationPipe();
  return Object.assign(Object.create(ValidationPipe.prototype) as ValidationPipe, pipe);
}

async function outcome(pipe: ValidationPipe, value: unknown) {
  const metadata: ArgumentMetadata = { type: 'param', metatype: McpServerParamDto };
  try {
    return { ok: true, value: JSON.parse(JSON.stringify(await pipe.transform(value, metadata))) as unknown };
  } catch (e) {
    if (!(e instanceof AppException)) throw e;
    return { ok: false, status: e.status, message: e.message, details: e.details };
  }
}

const params: unknown[] = [
  { serverId: 'everything' },
  { serverId: 'a' },
  { serverId: 'my.server_1-2' },
  { serverId: 'a'.repeat(64) },
  { serverId: 'a'.repeat(65) },
  { serverId: '' },
  { serverId: '-lead' },
  { serverId: '.lead' },
  { serverId: 'bad id' },
  { serverId: 'bad/id' },
  { serverId: 'ünï' },
  { serverId: 'line\nbreak' },
  { serverId: 42 },
  { serverId: null },
  { serverId: ['everything'] },
  { serverId: 'everything', extra: 'x' },
  {},
];

describe('the fast check of POST /mcp/{server_id} (McpServerParamDto)', () => {
  const fast = createValidationPipe();
  const full = fullPipe();

  it('gives the same answer as class-validator for every path', async () => {
    for (const value of params) {
      const [a, b] = await Promise.all([outcome(fast, value), outcome(full, value)]);
      expect({ value, outcome: a }).toEqual({ value, outcome: b });
    }
  });

  it('passes a valid id through as the parsed object and refuses a bad one with the field named', async () => {
    const value = { serverId: 'everything' };
    expect(await fast.transform(value, { type: 'param', metatype: McpServerParamDto })).toBe(value);
    expect(await outcome(fast, { serverId: 'bad id' })).toMatchObject({
      ok: false,
      status: 400,
      details: { fields: [{ field: 'serverId' }] },
    });
  });
});
