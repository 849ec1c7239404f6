import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, Matches, MaxLength } from 'class-validator';
import { hasOnlyKeys, registerFastCheck } from 'src/common/errors/validation.pipe';
import { SERVER_ID_PATTERN } from 'src/common/patterns';

export class McpServerParamDto {
  @ApiProperty({ example: 'everything', pattern: SERVER_ID_PATTERN.source })
  @Matches(SERVER_ID_PATTERN, {
    message: 'serverId must be 1-64 letters, digits, `_`, `.` or `-`, starting with a letter or digit',
  })
  serverId!: string;
}

const SERVER_PARAM_KEYS: ReadonlySet<string> = new Set(['serverId']);
// Every call of the front door's POST /mcp/{server_id} passes this DTO: a valid id skips class-transformer and
// class-validator (4% of the gateway's CPU under MCP load in a profile), as the REST route's DTOs do. Anything else
// still gets class-validator's 400 and its details.
registerFastCheck(
  McpServerParamDto,
  (v) => hasOnlyKeys(v, SERVER_PARAM_KEYS) && typeof v.serverId === 'string' && SERVER_ID_PATTERN.test(v.serverId),
);

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
