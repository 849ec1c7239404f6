import { applyDecorators } from '@nestjs/common';
import { ApiResponse } from '@nestjs/swagger';
import { ErrorCode, ERROR_STATUS } from './error-code';
import { ErrorEnvelopeDto } from './error-envelope.dto';

/** What the OpenAPI document says about one error status: its description and an example envelope of its code. */
interface ErrorResponseDoc {
  code: ErrorCode;
  description: string;
  message: string;
  details: unknown;
}

/**
 * One entry per documented status, each with an example of its own code: Swagger UI shows the example of the
 * status a reader looks at, so a 429 must not show a "not found".
 */
const ERROR_RESPONSES = {
  400: {
    code: ErrorCode.INVALID_PARAMETERS,
    description: 'The request or the tool arguments are invalid (details name the fields)',
    message: 'Invalid tool arguments',
    details: [{ field: '/message', problem: 'must be string' }],
  },
  401: {
    code: ErrorCode.AUTHENTICATION_FAILED,
    description: 'No credential, or one that is unknown, expired or revoked (see WWW-Authenticate)',
    message: 'Missing or invalid credential',
    details: null,
  },
  403: {
    code: ErrorCode.AUTHORIZATION_DENIED,
    description: "The credential lacks a scope the operation needs, or the server is not on the caller's allow-list",
    message: 'Missing scope: mcp:write',
    details: { required_scopes: ['mcp:write'] },
  },
  404: {
    code: ErrorCode.RESOURCE_NOT_FOUND,
    description: 'The server, tool, resource, prompt or execution does not exist (or is hidden from the caller)',
    message: 'Server github not found',
    details: null,
  },
  409: {
    code: ErrorCode.CONFLICT,
    description: 'Conflicts with the current state (a name used twice, an Idempotency-Key reused with other arguments)',
    message: 'Idempotency-Key greet-1 was used with other arguments',
    details: null,
  },
  413: {
    code: ErrorCode.PAYLOAD_TOO_LARGE,
    description: 'The body is larger than server.max-request-size',
    message: 'Request body is larger than the configured limit (server.max-request-size)',
    details: { reason: 'FST_ERR_CTP_BODY_TOO_LARGE' },
  },
  429: {
    code: ErrorCode.RATE_LIMIT_EXCEEDED,
    description: 'Over the rate limit: Retry-After says when one request fits again',
    message: 'Rate limit exceeded: 100 requests per minute, bursts of 20 (free tier); retry in 2 s',
    details: { tier: 'free', limit: 20, requests_per_minute: 100, retry_after_seconds: 2 },
  },
  500: {
    code: ErrorCode.SERVER_ERROR,
    description: 'An unexpected error: the gateway logged it with its stack under the request id',
    message: 'Internal server error',
    details: null,
  },
  502: {
    code: ErrorCode.TOOL_EXECUTION_FAILED,
    description: 'The upstream returned an error or broke the protocol',
    message: 'Tool echo on server everything failed',
    details: { upstream: { code: -32603, message: 'Internal error' } },
  },
  503: {
    code: ErrorCode.SERVER_UNAVAILABLE,
    description: 'The upstream is down, its circuit is open, or its queue is full',
    message: "MCP server 'everything' is unavailable: circuit open",
    details: { serverId: 'everything' },
  },
  504: {
    code: ErrorCode.TIMEOUT_EXCEEDED,
    description: 'The upstream did not answer in time (it was sent a cancellation)',
    message: 'Tool echo on server everything did not answer within 30000 ms',
    details: null,
  },
} as const satisfies Record<number, ErrorResponseDoc>;

export type DocumentedErrorStatus = keyof typeof ERROR_RESPONSES;

/** The OpenAPI response of one error status: description `CODE: what it means`, an example envelope of that code. */
export function errorResponseFor(status: DocumentedErrorStatus): {
  status: number;
  description: string;
  example: { error: Record<string, unknown> };
} {
  const doc: ErrorResponseDoc = ERROR_RESPONSES[status];
  if (Number(ERROR_STATUS[doc.code]) !== status)
    throw new Error(`ApiErrorResponses: ${doc.code} is answered with ${ERROR_STATUS[doc.code]}, not ${status}`);
  return {
    status,
    description: `${doc.code}: ${doc.description}`,
    example: {
      error: {
        code: doc.code,
        message: doc.message,
        details: doc.details,
        request_id: '3f9c1e8a-6f1d-4c1e-9d59-0b6a4c2f7e11',
        timestamp: '2026-11-27T08:15:00.000Z',
      },
    },
  };
}

/** Documents the error envelope for the given statuses (and always 500), each with an example of its own code. */
export function ApiErrorResponses(...statuses: DocumentedErrorStatus[]): MethodDecorator & ClassDecorator {
  return applyDecorators(
    ...[...new Set<DocumentedErrorStatus>([...statuses, 500])].map((status) =>
      ApiResponse({ ...errorResponseFor(status), type: ErrorEnvelopeDto }),
    ),
  );
}
