import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, Matches, Max, Min } from 'class-validator';
import { MAX_TIMEOUT_MS } from 'src/calls/call.types';
import { SERVER_ID_PATTERN, TOOL_NAME_PATTERN } from 'src/common/patterns';
import { TOOL_PATTERN } from 'src/config/policy-rule.schema';

/**
 * Bodies of `POST`/`PUT /api/virtual-servers` are validated by the zod schema of `mcp.virtual-servers`
 * (src/config/virtual-server.schema.ts), one definition for the file and the API; these classes describe them in
 * the OpenAPI document.
 */
export class VirtualToolMemberDto {
  @ApiProperty({ example: 'everything', pattern: SERVER_ID_PATTERN.source, description: 'The upstream server' })
  server!: string;

  @ApiProperty({
    example: 'echo',
    pattern: TOOL_PATTERN.source,
    description: 'The upstream tool, or a pattern (`*` any run, `?` one character) keeping the upstream names',
  })
  tool!: string;

  @ApiPropertyOptional({
    example: 'say',
    pattern: TOOL_NAME_PATTERN.source,
    description: 'The name it is exposed under',
  })
  name?: string;

  @ApiPropertyOptional({ description: 'The description it is exposed with' })
  description?: string;

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: true,
    example: { message: 'fixed' },
    description: "Arguments always sent with these values; taken out of the tool's input schema, refused from callers",
  })
  fixed_arguments?: Record<string, unknown>;
}

export class VirtualPromptMemberDto {
  @ApiProperty({ example: 'everything', pattern: SERVER_ID_PATTERN.source }) server!: string;
  @ApiProperty({ example: 'simple-prompt', pattern: TOOL_PATTERN.source }) prompt!: string;
  @ApiPropertyOptional({ pattern: TOOL_NAME_PATTERN.source }) name?: string;
  @ApiPropertyOptional() description?: string;
}

export class VirtualResourceMemberDto {
  @ApiProperty({ example: 'everything', pattern: SERVER_ID_PATTERN.source }) server!: string;
  @ApiPropertyOptional({ description: "One URI or URI template of the server; without it, all of the server's" })
  uri?: string;
}

export class VirtualServerInputDto {
  @ApiProperty({ example: 'assistant', pattern: SERVER_ID_PATTERN.source, description: 'Not a real server id' })
  id!: string;
  @ApiPropertyOptional({ maxLength: 200, description: 'Shown to MCP clients as the server name' })
  name?: string;
  @ApiPropertyOptional({ description: 'Shown to MCP clients as the instructions' })
  description?: string;
  @ApiPropertyOptional({ type: [VirtualToolMemberDto] }) tools?: VirtualToolMemberDto[];
  @ApiPropertyOptional({ type: [VirtualPromptMemberDto] }) prompts?: VirtualPromptMemberDto[];
  @ApiPropertyOptional({ type: [VirtualResourceMemberDto] }) resources?: VirtualResourceMemberDto[];
}

export class VirtualServerDto {
  @ApiProperty({ example: 'assistant' }) id!: string;
  @ApiProperty({ type: String, nullable: true }) name!: string | null;
  @ApiProperty({ type: String, nullable: true }) description!: string | null;
  @ApiProperty({ enum: ['config', 'api'], description: 'Definitions of the configuration file are read-only here' })
  source!: 'config' | 'api';
  @ApiProperty({ example: '/mcp/assistant' }) mcp_url!: string;
  @ApiProperty({ type: [VirtualToolMemberDto] }) tools!: VirtualToolMemberDto[];
  @ApiProperty({ type: [VirtualPromptMemberDto] }) prompts!: VirtualPromptMemberDto[];
  @ApiProperty({ type: [VirtualResourceMemberDto] }) resources!: VirtualResourceMemberDto[];
}

export class VirtualServerListDto {
  @ApiProperty({ type: [VirtualServerDto] }) virtual_servers!: VirtualServerDto[];
}

/** A tool as the virtual server exposes it to this caller. */
export class VirtualToolDto {
  @ApiProperty({ example: 'say' }) name!: string;
  @ApiPropertyOptional() description?: string;
  @ApiProperty({ type: 'object', additionalProperties: true, description: 'Without the fixed arguments' })
  input_schema!: Record<string, unknown>;
  @ApiProperty({ example: 'everything', description: 'The upstream server' }) server_id!: string;
  @ApiProperty({ example: 'echo', description: "The tool's name on its server" }) tool_name!: string;
}

export class VirtualToolListDto {
  @ApiProperty({ type: [VirtualToolDto] }) tools!: VirtualToolDto[];
}

export class VirtualServerIdParamDto {
  @ApiProperty({ example: 'assistant', pattern: SERVER_ID_PATTERN.source })
  @Matches(SERVER_ID_PATTERN, { message: 'id is not a valid virtual server id' })
  id!: string;
}

export class VirtualToolParamDto extends VirtualServerIdParamDto {
  @ApiProperty({ example: 'say', pattern: TOOL_NAME_PATTERN.source })
  @Matches(TOOL_NAME_PATTERN, { message: 'tool must be 1-128 letters, digits, `_`, `-`, `.` or `/`' })
  tool!: string;
}

export class VirtualToolCallQueryDto {
  @ApiPropertyOptional({ minimum: 1, maximum: MAX_TIMEOUT_MS, description: "Timeout in ms; default: the server's" })
  @IsOptional()
  @Type(() => Number)
  @IsInt({ message: 'timeout must be an integer number of milliseconds' })
  @Min(1)
  @Max(MAX_TIMEOUT_MS)
  timeout?: number;
}
