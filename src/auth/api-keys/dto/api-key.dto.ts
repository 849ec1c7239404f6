import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import {
  ArrayMaxSize,
  ArrayNotEmpty,
  ArrayUnique,
  IsArray,
  IsIn,
  IsISO8601,
  IsOptional,
  IsString,
  IsUUID,
  Length,
  Matches,
} from 'class-validator';
import { SERVER_ID_PATTERN } from 'src/common/patterns';
import { SCOPES, type Scope } from '../../scopes';

export class CreateApiKeyDto {
  @ApiProperty({ example: 'ci-pipeline', minLength: 1, maxLength: 200 })
  @IsString()
  @Length(1, 200)
  name!: string;

  @ApiProperty({ enum: SCOPES, isArray: true, example: ['mcp:read', 'mcp:write'] })
  @IsArray()
  @ArrayNotEmpty()
  @ArrayUnique()
  @IsIn(SCOPES, { each: true })
  scopes!: Scope[];

  @ApiPropertyOptional({
    example: 'pro',
    description: 'Rate-limit tier (`mcp.security.rate-limiting.tiers`); unset: the default limits.',
  })
  @IsOptional()
  @IsString()
  @Length(1, 32)
  tier?: string;

  @ApiPropertyOptional({
    type: [String],
    example: ['github'],
    description: 'Servers this key may see and use; unset: every server.',
  })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(1000)
  @Matches(SERVER_ID_PATTERN, { each: true, message: 'each server id must be a valid server id' })
  server_ids?: string[];

  @ApiPropertyOptional({ format: 'date-time', example: '2027-01-01T00:00:00Z', description: 'Unset: never expires.' })
  @IsOptional()
  @IsISO8601({ strict: true })
  expires_at?: string;
}

export class ApiKeyIdParamDto {
  @ApiProperty({ format: 'uuid' })
  @IsUUID()
  id!: string;
}

export class ApiKeyDto {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ example: 'ci-pipeline' }) name!: string;
  @ApiProperty({ example: 'gmcp_Xk3v9QaB', description: 'The first characters of the key, to recognise it.' })
  prefix!: string;
  @ApiProperty({ enum: SCOPES, isArray: true }) scopes!: string[];
  @ApiProperty({ nullable: true, type: String, example: 'pro' }) tier!: string | null;
  @ApiProperty({ nullable: true, type: [String], example: null }) server_ids!: string[] | null;
  @ApiProperty({ nullable: true, type: String, format: 'date-time' }) expires_at!: string | null;
  @ApiProperty({ nullable: true, type: String, format: 'date-time' }) last_used_at!: string | null;
  @ApiProperty({ type: String, format: 'date-time' }) created_at!: string;
  @ApiProperty({ nullable: true, type: String, format: 'date-time' }) revoked_at!: string | null;
}

export class CreatedApiKeyDto extends ApiKeyDto {
  @ApiProperty({
    example: 'gmcp_Xk3v9QaB0f1uYwq2m6x7c8d9e0f1a2b3c4d5e6f7g8h',
    description: 'The key itself: shown only in this response, stored only as a hash. Send it as `X-API-Key`.',
  })
  key!: string;
}

export class ApiKeyListDto {
  @ApiProperty({ type: [ApiKeyDto] }) api_keys!: ApiKeyDto[];
  @ApiProperty({ example: 1 }) total_count!: number;
}
