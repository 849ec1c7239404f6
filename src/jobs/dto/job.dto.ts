import { ApiProperty } from '@nestjs/swagger';

export const JOB_STATES = ['running', 'completed', 'failed', 'cancelled', 'interrupted'] as const;
export type JobState = (typeof JOB_STATES)[number];

export class JobLinksDto {
  @ApiProperty({ example: '/api/executions/6f1c2d3e-0000-4000-8000-000000000001' }) self!: string;
  @ApiProperty({ example: '/api/executions/6f1c2d3e-0000-4000-8000-000000000001/events' }) events!: string;
  @ApiProperty({ example: '/api/executions/6f1c2d3e-0000-4000-8000-000000000001/cancel' }) cancel!: string;
}

/** The 202 answer of an asynchronous execution (`"mode":"async"` or `Prefer: respond-async`). */
export class JobAcceptedDto {
  @ApiProperty({ format: 'uuid' }) execution_id!: string;
  @ApiProperty({
    enum: JOB_STATES,
    example: 'running',
    description: '`running` for a new job; for an idempotent repeat, the state of the first call',
  })
  status!: JobState;
  @ApiProperty({ example: 'everything' }) server_id!: string;
  @ApiProperty({ example: 'trigger-long-running-operation' }) tool_name!: string;
  @ApiProperty({ format: 'date-time' }) started_at!: string;
  @ApiProperty({ type: JobLinksDto }) links!: JobLinksDto;
}

/** The answer of POST /api/executions/{id}/cancel. */
export class JobCancelledDto {
  @ApiProperty({ format: 'uuid' }) execution_id!: string;
  @ApiProperty({ enum: ['cancelled'], example: 'cancelled' }) status!: 'cancelled';
  @ApiProperty({ example: 'Cancelled by the caller' }) message!: string;
}

export const jobLinks = (id: string): JobLinksDto => ({
  self: `/api/executions/${id}`,
  events: `/api/executions/${id}/events`,
  cancel: `/api/executions/${id}/cancel`,
});
