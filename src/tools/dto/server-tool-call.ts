import { createParamDecorator, type ExecutionContext, Injectable, type PipeTransform } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { matches, maxLength, minLength } from 'class-validator';
import { AppException } from 'src/common/errors/app.exception';
import { IDEMPOTENCY_DESCRIPTION, IDEMPOTENCY_KEY_PATTERN, MAX_IDEMPOTENCY_KEY } from './tool.dto';

/**
 * POST /api/servers/{id}/tools/{tool}: the body is the tool's arguments themselves, so the call's options live
 * outside it (query `timeout`/`mode`: ServerToolCallQueryDto; header `Idempotency-Key`: here). No wrapper body
 * is recognised: a tool may well have an argument named `parameters`.
 */

export const IDEMPOTENCY_KEY_HEADER = 'Idempotency-Key';

/**
 * The `@ApiHeader` of the header, so the document states the same rules the parser applies. No example: Swagger UI
 * would fill it in on "Try it out", and every later try would replay the first call.
 */
export const IDEMPOTENCY_KEY_API_HEADER = {
  name: IDEMPOTENCY_KEY_HEADER,
  required: false,
  description: `${IDEMPOTENCY_DESCRIPTION}. 1-${MAX_IDEMPOTENCY_KEY} characters, no control characters.`,
  schema: { type: 'string', minLength: 1, maxLength: MAX_IDEMPOTENCY_KEY },
} as const;

const isJsonObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * The body as the tool's arguments: a JSON object, or `{}` when there is no body. Anything else (an array, a string,
 * a number, null) is a 400 here, before the tool is resolved; the arguments themselves are checked against the
 * tool's input schema by the engine.
 */
@Injectable()
export class ToolArgumentsPipe implements PipeTransform<unknown, Record<string, unknown>> {
  transform(value: unknown): Record<string, unknown> {
    if (value === undefined) return {};
    if (isJsonObject(value)) return value;
    const kind = value === null ? 'null' : Array.isArray(value) ? 'an array' : `a ${typeof value}`;
    throw AppException.invalid(`The body must be a JSON object (the tool's arguments), not ${kind}`, {
      fields: [{ field: 'body', problems: ["the body is the tool's arguments and must be a JSON object"] }],
    });
  }
}

/**
 * The `Idempotency-Key` header, with the rules of the generic route's `idempotency_key` (class-validator's own
 * checks, so both stay alike): 1-200 characters, no control characters. Absent: undefined.
 */
export function parseIdempotencyKey(value: string | string[] | undefined): string | undefined {
  if (value === undefined) return undefined;
  const key = Array.isArray(value) ? value.join(', ') : value;
  const problems: string[] = [];
  if (!minLength(key, 1) || !maxLength(key, MAX_IDEMPOTENCY_KEY)) {
    problems.push(`${IDEMPOTENCY_KEY_HEADER} must be 1-${MAX_IDEMPOTENCY_KEY} characters`);
  }
  if (key.length > 0 && !matches(key, IDEMPOTENCY_KEY_PATTERN)) {
    problems.push(`${IDEMPOTENCY_KEY_HEADER} must not contain control characters`);
  }
  if (problems.length === 0) return key;
  throw AppException.invalid(`Invalid request: ${IDEMPOTENCY_KEY_HEADER}: ${problems.join(', ')}`, {
    fields: [{ field: IDEMPOTENCY_KEY_HEADER, problems }],
  });
}

/**
 * The generic route's key: `idempotency_key` in the body or the `Idempotency-Key` header (the IETF draft's name,
 * which HTTP clients and proxies send on their own); given both, they must be the same key (400 otherwise).
 */
export function oneIdempotencyKey(bodyKey: string | undefined, headerKey: string | undefined): string | undefined {
  if (bodyKey !== undefined && headerKey !== undefined && bodyKey !== headerKey) {
    const problem = `idempotency_key and the ${IDEMPOTENCY_KEY_HEADER} header name different keys`;
    throw AppException.invalid(`Invalid request: ${problem}`, {
      fields: [{ field: IDEMPOTENCY_KEY_HEADER, problems: [problem] }],
    });
  }
  return bodyKey ?? headerKey;
}

/** The handler parameter: the validated `Idempotency-Key` header (a bad one is a 400 before the handler runs). */
export const IdempotencyKey = createParamDecorator((_: unknown, context: ExecutionContext) => {
  const request = context.switchToHttp().getRequest<FastifyRequest>();
  // Node joins a repeated header into one value ("a, b"), which would silently become a third key: two keys for
  // one call are the caller's mistake.
  if (headerCount(request.raw.rawHeaders, 'idempotency-key') > 1) {
    const problem = `${IDEMPOTENCY_KEY_HEADER} is given more than once`;
    throw AppException.invalid(`Invalid request: ${problem}`, {
      fields: [{ field: IDEMPOTENCY_KEY_HEADER, problems: [problem] }],
    });
  }
  return parseIdempotencyKey(request.headers['idempotency-key']);
});

/** How many times a header appears in the raw request (names case-insensitive). */
function headerCount(rawHeaders: readonly string[], lowerCaseName: string): number {
  let count = 0;
  for (let i = 0; i < rawHeaders.length; i += 2) if (rawHeaders[i]!.toLowerCase() === lowerCaseName) count++;
  return count;
}
