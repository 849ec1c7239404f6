import { applyDecorators } from '@nestjs/common';
import { ApiResponse } from '@nestjs/swagger';
import { ErrorEnvelopeDto } from './error-envelope.dto';

const DESCRIPTIONS: Record<number, string> = {
  400: 'INVALID_PARAMETERS: the request or the tool arguments are invalid (details name the fields)',
  401: 'AUTHENTICATION_FAILED',
  403: 'AUTHORIZATION_DENIED',
  404: 'RESOURCE_NOT_FOUND',
  409: 'CONFLICT',
  413: 'PAYLOAD_TOO_LARGE',
  429: 'RATE_LIMIT_EXCEEDED',
  502: 'TOOL_EXECUTION_FAILED: the upstream returned an error or broke the protocol',
  503: 'SERVER_UNAVAILABLE: the upstream is down, its circuit is open, or the queue is full',
  504: 'TIMEOUT_EXCEEDED: the upstream did not answer in time (it was sent a cancellation)',
};

/** Documents the error envelope for the given statuses (and always 500). */
export function ApiErrorResponses(...statuses: number[]): MethodDecorator & ClassDecorator {
  return applyDecorators(
    ...[...statuses, 500].map((status) =>
      ApiResponse({ status, description: DESCRIPTIONS[status] ?? 'SERVER_ERROR', type: ErrorEnvelopeDto }),
    ),
  );
}
