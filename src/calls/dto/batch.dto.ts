import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsBoolean,
  IsInt,
  IsObject,
  IsOptional,
  IsString,
  Matches,
  Max,
  Min,
  ValidateNested,
} from 'class-validator';
import { SERVER_ID_PATTERN, TOOL_NAME_PATTERN } from 'src/common/patterns';
import { ToolResultDto } from 'src/executions/dto/execution-result.dto';
import { MAX_TIMEOUT_MS } from '../call.types';

/** POST /api/tools/batch: several tool calls as a dependency graph (see BatchRunner). */
export const MAX_BATCH_STEPS = 100;
export const MAX_BATCH_PARALLEL = 16;
export const DEFAULT_BATCH_PARALLEL = 4;
export const STEP_ID_PATTERN = /^[A-Za-z0-9_.:-]{1,200}$/;

export class BatchStepDto {
  @ApiProperty({ example: 'step-1', pattern: STEP_ID_PATTERN.source, description: 'Step id, unique in the batch' })
  @Matches(STEP_ID_PATTERN, { message: 'execution_id must be 1-200 letters, digits, `_`, `-`, `.` or `:`' })
  execution_id!: string;

  @ApiProperty({ example: 'echo', pattern: TOOL_NAME_PATTERN.source })
  @Matches(TOOL_NAME_PATTERN, { message: 'tool_name must be 1-128 letters, digits, `_`, `-`, `.` or `/`' })
  tool_name!: string;

  @ApiPropertyOptional({ example: 'everything' })
  @IsOptional()
  @Matches(SERVER_ID_PATTERN, { message: 'server_id is not a valid server id' })
  server_id?: string;

  @ApiProperty({ type: 'object', additionalProperties: true, example: { message: 'hello' } })
  @IsObject({ message: 'parameters must be a JSON object' })
  parameters!: Record<string, unknown>;

  @ApiPropertyOptional({ type: [String], example: ['step-0'], description: 'Steps that must complete first' })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(MAX_BATCH_STEPS)
  @IsString({ each: true })
  depends_on?: string[];

  @ApiPropertyOptional({
    example: 30000,
    minimum: 1,
    maximum: MAX_TIMEOUT_MS,
    description: 'Timeout of this step (ms)',
  })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(MAX_TIMEOUT_MS)
  timeout?: number;
}

export class BatchOptionsDto {
  @ApiPropertyOptional({
    default: false,
    description:
      'Stop at the first failure: every step not started yet is `skipped`. Without it only the dependants of a ' +
      'failure are skipped and independent steps go on.',
  })
  @IsOptional()
  @IsBoolean()
  fail_fast?: boolean;

  @ApiPropertyOptional({ default: DEFAULT_BATCH_PARALLEL, minimum: 1, maximum: MAX_BATCH_PARALLEL })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(MAX_BATCH_PARALLEL)
  max_parallel?: number;
}

export class BatchRequestDto {
  @ApiProperty({ type: [BatchStepDto], maxItems: MAX_BATCH_STEPS })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(MAX_BATCH_STEPS)
  @ValidateNested({ each: true })
  @Type(() => BatchStepDto)
  executions!: BatchStepDto[];

  @ApiPropertyOptional({ type: BatchOptionsDto })
  @IsOptional()
  @ValidateNested()
  @Type(() => BatchOptionsDto)
  options?: BatchOptionsDto;
}

export class BatchStepResultDto {
  @ApiProperty({ example: 'step-1', description: 'The step id of the request' }) execution_id!: string;
  @ApiPropertyOptional({
    format: 'uuid',
    description:
      'Id of the execution record (GET /api/executions/{id}); absent for a skipped step or one whose tool or server ' +
      'could not be resolved (404/409, not recorded)',
  })
  record_id?: string;
  @ApiProperty({ enum: ['completed', 'failed', 'skipped'] }) status!: string;
  @ApiPropertyOptional({ type: ToolResultDto }) result?: ToolResultDto;
  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: true,
    description: '`{code,message}`: the error code of the failed call, or SKIPPED for a step that did not run',
  })
  error?: { code: string; message: string };
  @ApiProperty({ example: 1.4 }) duration_ms!: number;
}

export class BatchResultDto {
  @ApiProperty({ format: 'uuid' }) batch_id!: string;
  @ApiProperty({
    enum: ['completed', 'partial', 'failed'],
    description: 'completed: every step completed; failed: none did; partial otherwise',
  })
  status!: string;
  @ApiProperty({ type: [BatchStepResultDto] }) executions!: BatchStepResultDto[];
  @ApiProperty({ format: 'date-time' }) started_at!: string;
  @ApiProperty({ format: 'date-time' }) completed_at!: string;
  @ApiProperty({ example: 12.5 }) total_duration_ms!: number;
}
