import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Equals, IsNotIn, IsObject, IsOptional, IsString, MaxLength, MinLength, ValidateBy } from 'class-validator';

/** The gateway owns the upstream session: a client may not (re)initialize it. */
export const GATEWAY_OWNED_METHODS = ['initialize', 'notifications/initialized'] as const;
const MAX_ID_LENGTH = 128;

export type JsonRpcId = string | number;

/** JSON-RPC id: a string (at most 128 characters) or a safe integer. `null` is refused (JSON-RPC discourages it). */
function IsJsonRpcId(): PropertyDecorator {
  return ValidateBy({
    name: 'isJsonRpcId',
    validator: {
      validate: (value: unknown) =>
        (typeof value === 'string' && value.length <= MAX_ID_LENGTH) ||
        (typeof value === 'number' && Number.isSafeInteger(value)),
      defaultMessage: () => `id must be a string of at most ${MAX_ID_LENGTH} characters or an integer`,
    },
  });
}

export class JsonRpcMessageDto {
  @ApiProperty({ enum: ['2.0'], example: '2.0' })
  @Equals('2.0', { message: 'jsonrpc must be "2.0"' })
  jsonrpc!: '2.0';

  @ApiPropertyOptional({
    oneOf: [{ type: 'string', maxLength: MAX_ID_LENGTH }, { type: 'integer' }],
    example: 1,
    description:
      'With an id the message is a request and the answer carries the same id; without one it is a notification (202)',
  })
  @IsOptional()
  @IsJsonRpcId()
  id?: JsonRpcId;

  @ApiProperty({
    example: 'tools/list',
    maxLength: 200,
    description: '`initialize` and `notifications/initialized` are refused: the gateway owns the session',
  })
  @IsString()
  @MinLength(1)
  @MaxLength(200)
  @IsNotIn(GATEWAY_OWNED_METHODS, { message: 'method $value is refused: the gateway owns the upstream session' })
  method!: string;

  @ApiPropertyOptional({ type: 'object', additionalProperties: true, example: {} })
  @IsOptional()
  @IsObject({ message: 'params must be a JSON object' })
  params?: Record<string, unknown>;
}

export class JsonRpcErrorDto {
  @ApiProperty({ example: -32601 }) code!: number;
  @ApiProperty({ example: 'Method not found' }) message!: string;
  @ApiPropertyOptional({ description: 'As the upstream sent it' }) data?: unknown;
}

export class JsonRpcResponseDto {
  @ApiProperty({ enum: ['2.0'], example: '2.0' }) jsonrpc!: '2.0';
  @ApiProperty({ oneOf: [{ type: 'string' }, { type: 'integer' }], example: 1, description: 'The id of the request' })
  id!: JsonRpcId;
  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: true,
    example: { tools: [{ name: 'echo' }] },
    description: 'The upstream result, unchanged',
  })
  result?: Record<string, unknown>;
  @ApiPropertyOptional({ type: JsonRpcErrorDto, description: "The upstream's JSON-RPC error, unchanged" })
  error?: JsonRpcErrorDto;
}
