import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { ErrorCode } from './error-code';

export class ErrorBodyDto {
  // No example here: each error response of an operation carries an example of its own code (ApiErrorResponses).
  @ApiProperty({ enum: ErrorCode, description: 'Stable, machine-readable error code' })
  code!: ErrorCode;

  @ApiProperty({ description: 'What went wrong, for people (wording may change; match on code)' })
  message!: string;

  @ApiPropertyOptional({
    description: 'What exactly was wrong (fields, upstream error, ...)',
    nullable: true,
    example: null,
  })
  details!: unknown;

  @ApiProperty({ description: 'The X-Request-Id of the request, also on every log line it caused' })
  request_id!: string;

  @ApiProperty({ format: 'date-time' })
  timestamp!: string;
}

/** The standard error envelope, as documented in the OpenAPI document. */
export class ErrorEnvelopeDto {
  @ApiProperty({ type: ErrorBodyDto })
  error!: ErrorBodyDto;
}
