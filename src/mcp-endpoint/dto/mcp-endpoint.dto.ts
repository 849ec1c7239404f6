import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, Matches, MaxLength } from 'class-validator';
import { SERVER_ID_PATTERN } from 'src/common/patterns';

export class McpServerParamDto {
  @ApiProperty({ example: 'everything', pattern: SERVER_ID_PATTERN.source })
  @Matches(SERVER_ID_PATTERN, {
    message: 'serverId must be 1-64 letters, digits, `_`, `.` or `-`, starting with a letter or digit',
  })
  serverId!: string;
}

export class LegacySessionQueryDto {
  @ApiPropertyOptional({ description: 'The session named in the `endpoint` event of `GET /sse`.' })
  @IsOptional()
  @IsString()
  @MaxLength(100)
  sessionId?: string;
}

/** Documentation only: the body is validated as JSON-RPC 2.0 by the MCP endpoint itself. */
export class McpJsonRpcMessageDto {
  @ApiProperty({ enum: ['2.0'] }) jsonrpc!: string;
  @ApiPropertyOptional({ oneOf: [{ type: 'string' }, { type: 'integer' }], description: 'Absent on notifications' })
  id?: string | number;
  @ApiProperty({ example: 'tools/list' }) method!: string;
  @ApiPropertyOptional({ type: 'object', additionalProperties: true }) params?: Record<string, unknown>;
}

export class ProtectedResourceMetadataDto {
  @ApiProperty({ example: 'https://gateway.example.com/mcp' }) resource!: string;
  @ApiProperty({ type: [String], description: 'OAuth2 issuers whose tokens are accepted' })
  authorization_servers!: string[];
  @ApiProperty({ type: [String], example: ['mcp:read', 'mcp:write', 'mcp:admin'] }) scopes_supported!: string[];
  @ApiProperty({ type: [String], example: ['header'] }) bearer_methods_supported!: string[];
  @ApiProperty({ example: 'globalmcp' }) resource_name!: string;
}
