import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional, IsString, IsUUID, Length, Matches } from 'class-validator';
import { PageQueryDto, PaginationDto } from 'src/common/dto/pagination.dto';
import { SERVER_ID_PATTERN, TOOL_NAME_PATTERN } from 'src/common/patterns';
import { EXECUTION_END_REASONS, EXECUTION_STATUSES } from '../execution.entity';

export class ListExecutionsQueryDto extends PageQueryDto {
  @ApiPropertyOptional({ example: 'everything' })
  @IsOptional()
  @Matches(SERVER_ID_PATTERN, { message: 'server_id is not a valid server id' })
  server_id?: string;

  @ApiPropertyOptional({ example: 'echo', description: 'Tool name' })
  @IsOptional()
  @Matches(TOOL_NAME_PATTERN, { message: 'tool must be 1-128 letters, digits, `_`, `-`, `.` or `/`' })
  tool?: string;

  @ApiPropertyOptional({ enum: EXECUTION_STATUSES })
  @IsOptional()
  @IsIn(EXECUTION_STATUSES)
  status?: (typeof EXECUTION_STATUSES)[number];

  @ApiPropertyOptional({
    example: 'key:3f1c2a9e-7b4d-4e0a-9c1f-2d8e6b5a4c3d',
    maxLength: 300,
    description:
      "Who called, as each record's `principal` (`key:<API key id>`, or `<jwt|oauth2>:<issuer>:<subject>`); exact " +
      "match. A caller who is not an admin sees only its own executions: another principal's filter lists none.",
  })
  @IsOptional()
  @IsString()
  @Length(1, 300)
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
  @Matches(/^[^\u0000-\u001f\u007f]+$/, { message: 'principal must not contain control characters' })
  principal?: string;
}

export class ExecutionIdParamDto {
  @ApiProperty({ format: 'uuid' })
  @IsUUID('all', { message: 'id must be a UUID' })
  id!: string;
}

export class ExecutionErrorDto {
  @ApiProperty({ example: 'TOOL_EXECUTION_FAILED' }) code!: string;
  @ApiProperty({ example: 'The upstream failed' }) message!: string;
  @ApiPropertyOptional({
    enum: EXECUTION_END_REASONS,
    description:
      'Why a call that did not complete ended, when the gateway knows: cancelled by its caller, its client went ' +
      "away, the gateway's shutdown, a gateway process that died under it, or its timeout",
  })
  reason?: string;
}

export class ExecutionRecordDto {
  @ApiProperty({ format: 'uuid' }) execution_id!: string;
  @ApiProperty({ description: 'Who called: API key id, or token issuer + subject' }) principal!: string;
  @ApiProperty({ enum: ['rest', 'mcp'] }) channel!: string;
  @ApiProperty({
    type: String,
    nullable: true,
    example: '2025-11-25',
    description: 'The MCP protocol revision of a call through the MCP endpoint; null for REST',
  })
  protocol_version!: string | null;
  @ApiProperty({
    type: Number,
    nullable: true,
    example: null,
    description:
      "How many times the call waited for its MCP client's input (input-required rounds of a 2026-07-28 call, or " +
      'times an MCP task was input_required); null when it never did',
  })
  input_rounds!: number | null;
  @ApiProperty({ example: 'everything' }) server_id!: string;
  @ApiProperty({
    type: String,
    nullable: true,
    example: 'assistant',
    description: 'The virtual server the call came through (`server_id` and `tool_name` are the real ones); else null',
  })
  virtual_server_id!: string | null;
  @ApiProperty({ example: 'echo' }) tool_name!: string;
  @ApiProperty({ enum: EXECUTION_STATUSES }) status!: string;
  @ApiProperty({
    nullable: true,
    description: 'Parameters, secret-looking keys masked; a text preview when over 64 KB (`parameters_truncated`)',
  })
  parameters!: unknown;
  @ApiProperty() parameters_truncated!: boolean;
  @ApiProperty({ nullable: true, description: 'Result, capped like the parameters (`result_truncated`)' })
  result!: unknown;
  @ApiProperty() result_truncated!: boolean;
  @ApiProperty({ type: ExecutionErrorDto, nullable: true }) error!: ExecutionErrorDto | null;
  @ApiProperty({ format: 'date-time' }) started_at!: string;
  @ApiProperty({ format: 'date-time', nullable: true, type: String }) completed_at!: string | null;
  @ApiProperty({ nullable: true, type: Number, example: 1.4 }) duration_ms!: number | null;
  @ApiProperty({ nullable: true, type: String }) idempotency_key!: string | null;
  @ApiProperty({ nullable: true, type: String, format: 'uuid' }) batch_id!: string | null;
  @ApiProperty({ nullable: true, type: String }) step_id!: string | null;
}

export class ExecutionListDto {
  @ApiProperty({ type: [ExecutionRecordDto] }) executions!: ExecutionRecordDto[];
  @ApiProperty({ type: PaginationDto }) pagination!: PaginationDto;
}
