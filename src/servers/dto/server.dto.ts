import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional } from 'class-validator';
import { PageQueryDto, PaginationDto } from 'src/common/dto/pagination.dto';

export const SERVER_STATUSES = ['active', 'inactive', 'error'] as const;
export const SERVER_TYPES = ['stdio', 'http', 'sse'] as const;
export const HEALTH_STATUSES = ['UP', 'DOWN', 'UNKNOWN'] as const;

export class ListServersQueryDto extends PageQueryDto {
  @ApiPropertyOptional({ enum: SERVER_STATUSES })
  @IsOptional()
  @IsIn(SERVER_STATUSES)
  status?: (typeof SERVER_STATUSES)[number];

  @ApiPropertyOptional({ enum: SERVER_TYPES })
  @IsOptional()
  @IsIn(SERVER_TYPES)
  type?: (typeof SERVER_TYPES)[number];
}

export class CapabilityCountsDto {
  @ApiProperty({ example: 11 }) tools!: number;
  @ApiProperty({ example: 100 }) resources!: number;
  @ApiProperty({ example: 3 }) prompts!: number;
}

export class ServerHealthSummaryDto {
  @ApiProperty({ enum: HEALTH_STATUSES, example: 'UP' }) status!: string;
  @ApiProperty({ format: 'date-time', nullable: true, type: String }) last_check!: string | null;
  @ApiProperty({ nullable: true, type: Number, example: 1.2 }) response_time_ms!: number | null;
}

export class ServerSummaryDto {
  @ApiProperty({ example: 'everything' }) id!: string;
  @ApiProperty({ example: 'Everything (demo)' }) name!: string;
  @ApiProperty({ enum: SERVER_TYPES }) type!: string;
  @ApiProperty({ enum: SERVER_STATUSES }) status!: string;
  @ApiProperty({ example: 'stdio://node node_modules/@modelcontextprotocol/server-everything/dist/index.js stdio' })
  endpoint!: string;
  @ApiProperty({ type: CapabilityCountsDto }) capabilities!: CapabilityCountsDto;
  @ApiProperty({ type: ServerHealthSummaryDto }) health!: ServerHealthSummaryDto;
  @ApiProperty({
    nullable: true,
    type: String,
    example: '2026-07-28',
    description:
      'The MCP revision the gateway speaks to this upstream: 2026-07-28 (negotiated by server/discover, stateless) for ' +
      'an http upstream that offers it, else the 2025 revision its initialize negotiated; null before the first connect',
  })
  protocol_version!: string | null;
  @ApiProperty({ enum: ['config', 'api'] }) source!: string;
  @ApiProperty({ format: 'date-time' }) created_at!: string;
  @ApiProperty({ format: 'date-time' }) updated_at!: string;
}

export class ServerListDto {
  @ApiProperty({ type: [ServerSummaryDto] }) servers!: ServerSummaryDto[];
  @ApiProperty({ type: PaginationDto }) pagination!: PaginationDto;
}

export class ServerConfigurationDto {
  @ApiPropertyOptional({ example: 'node' }) command?: string;
  @ApiProperty({ type: [String] }) args!: string[];
  @ApiPropertyOptional({ example: 'https://mcp.example.com/mcp' }) url?: string;
  @ApiProperty({
    type: 'object',
    additionalProperties: { type: 'string' },
    description: 'Values masked as ***',
    example: { Authorization: '***' },
  })
  headers!: Record<string, string>;
  @ApiProperty({
    type: 'object',
    additionalProperties: { type: 'string' },
    description: 'Values masked as ***',
    example: { API_TOKEN: '***' },
  })
  environment!: Record<string, string>;
  @ApiPropertyOptional({ example: '/srv/mcp' }) working_directory?: string;
  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: true,
    description: 'http/sse: the upstream credential mode and its settings (client_secret masked as ***)',
    example: { mode: 'oauth-client-credentials', token_endpoint: 'https://idp.example/token', client_secret: '***' },
  })
  auth?: Record<string, unknown>;
  @ApiProperty({ example: 30000, description: 'Per-call timeout (ms)' }) timeout!: number;
  @ApiProperty({ example: 1 }) pool_size!: number;
  @ApiProperty() enabled!: boolean;
  @ApiProperty() required!: boolean;
}

export class ServerCapabilitiesDto extends CapabilityCountsDto {
  @ApiProperty({ example: 12 }) resource_templates!: number;
  @ApiProperty({
    nullable: true,
    type: String,
    example: '2025-06-18',
    description: "The MCP revision spoken to it (see the server's `protocol_version`)",
  })
  protocol_version!: string | null;
  @ApiProperty({ nullable: true, type: Object, example: { name: 'mcp-servers/everything', version: '2.0.0' } })
  server_info!: { name: string; version: string } | null;
}

export class ServerMetricsDto {
  @ApiProperty({ example: 120 }) requests_total!: number;
  @ApiProperty({ example: 2 }) errors_total!: number;
  @ApiProperty({ example: 0.8 }) avg_response_time_ms!: number;
  @ApiProperty({ example: 3600, nullable: true, type: Number }) uptime_seconds!: number | null;
  @ApiProperty({ example: 0 }) restarts!: number;
  @ApiProperty({ example: 0 }) in_flight!: number;
}

export class HealthCheckDto {
  @ApiProperty({ enum: ['connectivity', 'authentication', 'capability_discovery'] }) name!: string;
  @ApiProperty({ enum: [...HEALTH_STATUSES, 'SKIPPED'] }) status!: string;
  @ApiProperty({ example: 'ping answered' }) message!: string;
  @ApiProperty({ nullable: true, type: Number, example: 0.9 }) response_time_ms!: number | null;
  @ApiProperty({ format: 'date-time' }) last_check!: string;
}

export class ServerDetailsDto extends ServerSummaryDto {
  @ApiProperty({ nullable: true, type: String }) description!: string | null;
  @ApiProperty({ type: ServerConfigurationDto }) configuration!: ServerConfigurationDto;
  @ApiProperty({ type: ServerCapabilitiesDto }) declare capabilities: ServerCapabilitiesDto;
  @ApiProperty({ type: ServerMetricsDto }) metrics!: ServerMetricsDto;
  @ApiProperty({ nullable: true, type: String, description: 'Why the server is not active, when it is not' })
  last_error!: string | null;
  @ApiProperty({ nullable: true, format: 'date-time', type: String }) last_error_at!: string | null;
}

export class ServerHealthDto {
  @ApiProperty({ example: 'everything' }) server_id!: string;
  @ApiProperty({ enum: HEALTH_STATUSES }) status!: string;
  @ApiProperty({ type: [HealthCheckDto] }) checks!: HealthCheckDto[];
}

export class ServerActionDto {
  @ApiProperty({ example: 'everything' }) id!: string;
  @ApiProperty({ example: 'restarted' }) status!: string;
  @ApiProperty({ example: 'Server everything restarted' }) message!: string;
}

export class ServerInfoDto {
  @ApiProperty({ example: 'everything' }) server_id!: string;
  @ApiProperty({ nullable: true, type: Object }) server_info!: { name: string; version: string } | null;
  @ApiProperty({ nullable: true, type: String }) protocol_version!: string | null;
  @ApiProperty({ enum: SERVER_STATUSES }) status!: string;
  @ApiProperty({ type: CapabilityCountsDto }) capabilities!: CapabilityCountsDto;
}
