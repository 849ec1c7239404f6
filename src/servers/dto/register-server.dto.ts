import { ApiProperty, ApiPropertyOptional, PartialType, OmitType } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsBoolean,
  IsIn,
  IsInt,
  IsObject,
  IsOptional,
  IsString,
  IsUrl,
  Matches,
  Max,
  MaxLength,
  Min,
  MinLength,
  ValidateNested,
} from 'class-validator';
import { SERVER_ID_PATTERN } from 'src/common/patterns';
import { SERVER_TYPES } from './server.dto';

export class ServerConfigurationInputDto {
  @ApiPropertyOptional({ example: 'node', description: 'stdio: the program (must be on allowed-commands)' })
  @IsOptional()
  @IsString()
  @MinLength(1)
  @MaxLength(1024)
  command?: string;

  @ApiPropertyOptional({ type: [String], example: ['server.js', 'stdio'] })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(100)
  @IsString({ each: true })
  @MaxLength(4096, { each: true })
  args?: string[];

  @ApiPropertyOptional({ example: 'https://mcp.example.com/mcp', description: 'http/sse: http:// or https:// URL' })
  @IsOptional()
  @IsString()
  @MaxLength(2048)
  @IsUrl({ protocols: ['http', 'https'], require_protocol: true, require_tld: false })
  url?: string;

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: { type: 'string' },
    description: 'http/sse: headers (values encrypted at rest, masked in responses)',
  })
  @IsOptional()
  @IsObject()
  headers?: Record<string, string>;

  @ApiPropertyOptional({ example: 30000, description: 'Per-call timeout (ms)' })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(3_600_000)
  timeout?: number;

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: { type: 'string' },
    description: 'stdio: environment variables (values encrypted at rest, masked in responses)',
  })
  @IsOptional()
  @IsObject()
  environment?: Record<string, string>;

  @ApiPropertyOptional({ example: 1 })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(64)
  pool_size?: number;

  @ApiPropertyOptional({ example: '/srv/mcp' })
  @IsOptional()
  @IsString()
  @MaxLength(1024)
  working_directory?: string;

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: true,
    description:
      'http/sse: upstream credential. `mode`: static | oauth-client-credentials | token-exchange | claims-to-headers; ' +
      'token_endpoint, client_id, client_secret (encrypted at rest, masked in responses; `***` keeps the stored one), ' +
      'audience, resource, scope, claims (header -> claim), max_connections, idle_timeout (ms). See docs/security.md.',
    example: {
      mode: 'token-exchange',
      token_endpoint: 'https://idp.example/oauth/token',
      client_id: 'globalmcp',
      client_secret: 's3cret',
      audience: 'https://mcp.example.com',
    },
  })
  @IsOptional()
  @IsObject()
  auth?: Record<string, unknown>;
}

export class RegisterServerDto {
  @ApiProperty({ example: 'weather', pattern: SERVER_ID_PATTERN.source })
  @IsString()
  @Matches(SERVER_ID_PATTERN, {
    message: 'id must be 1-64 letters, digits, `_`, `.` or `-`, starting with a letter or digit',
  })
  id!: string;

  @ApiPropertyOptional({ example: 'Weather' })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  name?: string;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MaxLength(2000)
  description?: string;

  @ApiProperty({ enum: SERVER_TYPES })
  @IsIn(SERVER_TYPES)
  type!: (typeof SERVER_TYPES)[number];

  @ApiProperty({ type: ServerConfigurationInputDto })
  @IsObject()
  @ValidateNested()
  @Type(() => ServerConfigurationInputDto)
  configuration!: ServerConfigurationInputDto;

  @ApiPropertyOptional({ default: true })
  @IsOptional()
  @IsBoolean()
  enabled?: boolean;

  @ApiPropertyOptional({ default: false, description: 'Readiness waits for this server' })
  @IsOptional()
  @IsBoolean()
  required?: boolean;
}

/** PUT: every field optional; `configuration` keys given replace the stored ones (a `***` value keeps the stored one). */
export class UpdateServerDto extends PartialType(OmitType(RegisterServerDto, ['id'] as const)) {}

export class DeleteServerQueryDto {
  @ApiPropertyOptional({ description: 'Remove even while calls are in flight (they fail)' })
  @IsOptional()
  @IsIn(['true', 'false'])
  force?: 'true' | 'false';
}

export class RegisterServerResultDto {
  @ApiProperty({ example: 'weather' }) id!: string;
  @ApiProperty({ example: 'registered' }) status!: string;
  @ApiProperty({ example: 'Server weather registered and active' }) message!: string;
  @ApiProperty({ example: 412 }) initialization_time_ms!: number;
  @ApiProperty({ enum: ['active', 'inactive', 'error'], description: 'State of the server when the answer was sent' })
  server_status!: string;
}

export class UpdateServerResultDto {
  @ApiProperty({ example: 'weather' }) id!: string;
  @ApiProperty({ example: 'updated' }) status!: string;
  @ApiProperty() message!: string;
  @ApiProperty({ description: 'Always false: the change was applied to the running pool already' })
  restart_required!: boolean;
  @ApiProperty({
    description:
      'Whether its connections were restarted: only when a field that affects them changed (not for name, description or required)',
  })
  restarted!: boolean;
}
