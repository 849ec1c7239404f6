import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { ErrorCode } from './error-code';

export class ErrorBodyDto {
  @ApiProperty({ enum: ErrorCode, example: ErrorCode.RESOURCE_NOT_FOUND })
  code!: ErrorCode;

  @ApiProperty({ example: 'Server github not found' })
  message!: string;

  @ApiPropertyOptional({
    description: 'What exactly was wrong (fields, upstream error, ...)',
    nullable: true,
    example: null,
  })
  details!: unknown;

  @ApiProperty({ example: '3f9c1e8a-6f1d-4c1e-9d59-0b6a4c2f7e11' })
  request_id!: string;

  @ApiProperty({ example: '2026-11-27T08:15:00.000Z', format: 'date-time' })
  timestamp!: string;
}

/** The standard error envelope, as documented in the OpenAPI document. */
export class ErrorEnvelopeDto {
  @ApiProperty({ type: ErrorBodyDto })
  error!: ErrorBodyDto;
}
