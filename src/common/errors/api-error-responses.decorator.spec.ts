import { ApiErrorResponses, type DocumentedErrorStatus, errorResponseFor } from './api-error-responses.decorator';
import { ERROR_STATUS, ErrorCode } from './error-code';

// @nestjs/swagger's metadata key for @ApiResponse (its constants module is not exported).
const API_RESPONSE_METADATA = 'swagger/apiResponse';
const STATUSES: DocumentedErrorStatus[] = [400, 401, 403, 404, 409, 413, 429, 500, 502, 503, 504];

describe('errorResponseFor', () => {
  it.each(STATUSES)('gives %i an example envelope of a code answered with that very status', (status) => {
    const { example, description } = errorResponseFor(status);
    const code = example.error.code as ErrorCode;
    expect(ERROR_STATUS[code]).toBe(status);
    expect(description.startsWith(`${code}: `)).toBe(true);
    expect(Object.keys(example.error).sort()).toEqual(['code', 'details', 'message', 'request_id', 'timestamp']);
    expect(example.error.message).toEqual(expect.any(String));
  });

  it('uses a different example for every status (no status borrows the 404 example)', () => {
    const messages = STATUSES.map((status) => errorResponseFor(status).example.error.message);
    expect(new Set(messages).size).toBe(STATUSES.length);
    const codes = STATUSES.map((status) => errorResponseFor(status).example.error.code);
    expect(codes.filter((code) => code === ErrorCode.RESOURCE_NOT_FOUND)).toEqual([ErrorCode.RESOURCE_NOT_FOUND]);
  });

  it('describes 500 once, as SERVER_ERROR with what it means', () => {
    expect(errorResponseFor(500).description).toBe(
      'SERVER_ERROR: An unexpected error: the gateway logged it with its stack under the request id',
    );
  });
});

describe('ApiErrorResponses', () => {
  it('documents the statuses asked for plus 500, each with its own example', () => {
    class Probe {
      handler(): void {}
    }
    const descriptor = Object.getOwnPropertyDescriptor(Probe.prototype, 'handler')!;
    ApiErrorResponses(404, 429)(Probe.prototype, 'handler', descriptor);
    const responses = Reflect.getMetadata(API_RESPONSE_METADATA, descriptor.value as object) as Record<
      string,
      { example: { error: { code: string } } }
    >;
    expect(Object.keys(responses).sort()).toEqual(['404', '429', '500']);
    expect(responses['404']!.example.error.code).toBe('RESOURCE_NOT_FOUND');
    expect(responses['429']!.example.error.code).toBe('RATE_LIMIT_EXCEEDED');
    expect(responses['500']!.example.error.code).toBe('SERVER_ERROR');
  });
});
