import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { toStoredResult, type ExecutionOutcome } from '../stored-result';

/** The result of a tool call as REST shows it. */
export class ToolResultDto {
  @ApiProperty({
    type: 'array',
    items: { type: 'object', additionalProperties: true },
    description: 'MCP content blocks as the upstream returned them: text, image, audio, resource_link, resource',
    example: [{ type: 'text', text: 'Echo: hello' }],
  })
  content!: unknown[];

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: true,
    description: 'Structured result, when the tool declares an output schema',
  })
  structured_content?: Record<string, unknown>;

  @ApiProperty({
    description: 'True when the tool reported a failure in its result (the call itself completed)',
    example: false,
  })
  is_error!: boolean;
}

export class ExecutionResultDto {
  @ApiProperty({ format: 'uuid' }) execution_id!: string;
  @ApiProperty({ enum: ['completed', 'failed'], example: 'completed' }) status!: string;
  @ApiProperty({ type: ToolResultDto }) result!: ToolResultDto;
  @ApiProperty({ example: 'everything' }) server_id!: string;
  @ApiProperty({ example: 'echo' }) tool_name!: string;
  @ApiProperty({ format: 'date-time' }) started_at!: string;
  @ApiProperty({ format: 'date-time' }) completed_at!: string;
  @ApiProperty({ example: 1.4 }) duration_ms!: number;
}

/** The REST answer of a finished call. */
export function toExecutionResultDto(outcome: ExecutionOutcome): ExecutionResultDto {
  return {
    execution_id: outcome.executionId,
    status: 'completed',
    result: toStoredResult(outcome.result),
    server_id: outcome.serverId,
    tool_name: outcome.toolName,
    started_at: outcome.startedAt.toISOString(),
    completed_at: outcome.completedAt.toISOString(),
    duration_ms: outcome.durationMs,
  };
}
