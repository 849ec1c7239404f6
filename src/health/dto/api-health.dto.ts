import { ApiProperty } from '@nestjs/swagger';

const STATUSES = ['UP', 'DOWN', 'OUT_OF_SERVICE', 'UNKNOWN'];

export class ServersHealthDto {
  @ApiProperty({ enum: STATUSES, example: 'UP' })
  status!: string;

  @ApiProperty({ example: 3 })
  active_count!: number;

  @ApiProperty({ example: 4 })
  total_count!: number;
}

export class MemoryHealthDto {
  @ApiProperty({ enum: STATUSES, example: 'UP' })
  status!: string;

  @ApiProperty({ example: 98_304_000 })
  rss_bytes!: number;

  @ApiProperty({ example: 41_000_000 })
  heap_used_bytes!: number;
}

export class HealthChecksDto {
  @ApiProperty({ enum: STATUSES, example: 'UP' })
  database!: string;

  @ApiProperty({ enum: STATUSES, example: 'UP', description: 'UNKNOWN when no Redis is configured' })
  redis!: string;

  @ApiProperty({ type: ServersHealthDto })
  servers!: ServersHealthDto;

  @ApiProperty({ type: MemoryHealthDto })
  memory!: MemoryHealthDto;
}

export class ApiHealthDto {
  @ApiProperty({ enum: STATUSES, example: 'UP' })
  status!: string;

  @ApiProperty({ example: '0.1.0' })
  version!: string;

  @ApiProperty({ example: 3600 })
  uptime_seconds!: number;

  @ApiProperty({ type: HealthChecksDto })
  checks!: HealthChecksDto;

  @ApiProperty({ format: 'date-time', example: '2026-11-27T08:15:00.000Z' })
  timestamp!: string;
}
