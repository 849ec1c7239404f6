import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsObject, IsOptional, IsString, Matches, Max, MaxLength, Min, MinLength } from 'class-validator';
import { hasOnlyKeys, registerFastCheck } from 'src/common/errors/validation.pipe';
import { SERVER_ID_PATTERN, TOOL_NAME_PATTERN } from 'src/common/patterns';
import { MAX_TIMEOUT_MS } from 'src/calls/call.types';

export const MAX_IDEMPOTENCY_KEY = 200;
/** Printable text only: PostgreSQL refuses NUL in text, and control characters have no business in a key. */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
export const IDEMPOTENCY_KEY_PATTERN = /^[^\u0000-\u001f\u007f]+$/;
export const EXECUTION_MODES = ['sync', 'async'] as const;
export type ExecutionMode = (typeof EXECUTION_MODES)[number];

const TIMEOUT_DESCRIPTION = "Timeout in ms; default: the server's timeout, else mcp.client.default-timeout";
export const IDEMPOTENCY_DESCRIPTION =
  "Per caller: a repeat with the same key and arguments returns the first call's result (same execution_id) " +
  'without calling the tool again, waiting while the first still runs; other arguments: 409 CONFLICT';
const MODE_DESCRIPTION =
  '`async`: answer 202 at once with `execution_id` and a `Location` (GET /api/executions/{id}); follow it with ' +
  'GET /api/executions/{id}/events (Server-Sent Events) and stop it with POST /api/executions/{id}/cancel. ' +
  'The header `Prefer: respond-async` does the same.';

export class ListToolsQueryDto {
  @ApiPropertyOptional({ example: 'everything', description: 'Only the tools of this server' })
  @IsOptional()
  @Matches(SERVER_ID_PATTERN, { message: 'server_id is not a valid server id' })
  server_id?: string;

  @ApiPropertyOptional({
    example: 'general',
    description: "A tool's category: `_meta.category` when the upstream sets one, else `general`",
  })
  @IsOptional()
  @IsString()
  @MaxLength(100)
  category?: string;

  @ApiPropertyOptional({ example: 'echo', description: 'Case-insensitive text searched in names and descriptions' })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  search?: string;
}

export class ToolQueryDto {
  @ApiPropertyOptional({ example: 'everything', description: 'Required when the name exists on several servers' })
  @IsOptional()
  @Matches(SERVER_ID_PATTERN, { message: 'server_id is not a valid server id' })
  server_id?: string;
}

export class ToolNameParamDto {
  @ApiProperty({ example: 'echo', pattern: TOOL_NAME_PATTERN.source })
  @Matches(TOOL_NAME_PATTERN, { message: 'name must be 1-128 letters, digits, `_`, `-`, `.` or `/`' })
  name!: string;
}

export class ServerToolParamDto {
  @ApiProperty({ example: 'everything', pattern: SERVER_ID_PATTERN.source })
  @Matches(SERVER_ID_PATTERN, { message: 'id is not a valid server id' })
  id!: string;

  @ApiProperty({ example: 'echo', pattern: TOOL_NAME_PATTERN.source })
  @Matches(TOOL_NAME_PATTERN, { message: 'tool must be 1-128 letters, digits, `_`, `-`, `.` or `/`' })
  tool!: string;
}

export class ToolAnnotationsDto {
  @ApiPropertyOptional() title?: string;
  @ApiPropertyOptional() readOnlyHint?: boolean;
  @ApiPropertyOptional() destructiveHint?: boolean;
  @ApiPropertyOptional() idempotentHint?: boolean;
  @ApiPropertyOptional() openWorldHint?: boolean;
}

export class ToolDto {
  @ApiProperty({ example: 'echo' }) name!: string;
  @ApiPropertyOptional({ example: 'Echo' }) title?: string;
  @ApiProperty({ example: 'Echoes back the input', nullable: true, type: String }) description!: string | null;
  @ApiProperty({ example: 'everything' }) server_id!: string;
  @ApiProperty({ example: 'Everything (demo)' }) server_name!: string;
  @ApiProperty({ example: 'general' }) category!: string;
  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    example: { type: 'object', properties: { message: { type: 'string' } }, required: ['message'] },
  })
  input_schema!: Record<string, unknown>;
  @ApiPropertyOptional({ type: 'object', additionalProperties: true }) output_schema?: Record<string, unknown>;
  @ApiPropertyOptional({ type: ToolAnnotationsDto }) annotations?: ToolAnnotationsDto;
}

export class ToolListDto {
  @ApiProperty({ type: [ToolDto] }) tools!: ToolDto[];
  @ApiProperty({ example: 11 }) total_count!: number;
  @ApiProperty({ example: 1 }) servers_count!: number;
  @ApiProperty({ type: [String], example: ['general'] }) categories!: string[];
}

export class ExecuteToolDto {
  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    example: { message: 'hello' },
    description: "Arguments, validated against the tool's input schema",
  })
  @IsObject({ message: 'parameters must be a JSON object' })
  parameters!: Record<string, unknown>;

  @ApiPropertyOptional({
    example: 30000,
    minimum: 1,
    maximum: MAX_TIMEOUT_MS,
    description: TIMEOUT_DESCRIPTION,
  })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(MAX_TIMEOUT_MS)
  timeout?: number;

  @ApiPropertyOptional({
    example: 'order-42-refund',
    maxLength: MAX_IDEMPOTENCY_KEY,
    description: IDEMPOTENCY_DESCRIPTION,
  })
  @IsOptional()
  @IsString()
  @MinLength(1)
  @MaxLength(MAX_IDEMPOTENCY_KEY)
  @Matches(IDEMPOTENCY_KEY_PATTERN, { message: 'idempotency_key must not contain control characters' })
  idempotency_key?: string;

  @ApiPropertyOptional({ enum: EXECUTION_MODES, default: 'sync', description: MODE_DESCRIPTION })
  @IsOptional()
  @IsIn(EXECUTION_MODES, { message: 'mode must be sync or async' })
  mode?: ExecutionMode;

  @ApiPropertyOptional({ example: 'everything', description: 'Required when the tool name exists on several servers' })
  @IsOptional()
  @Matches(SERVER_ID_PATTERN, { message: 'server_id is not a valid server id' })
  server_id?: string;
}

/**
 * The options of POST /api/servers/{id}/tools/{tool} (whose body is the tool's arguments themselves) as query
 * parameters; the idempotency key is the `Idempotency-Key` header (src/tools/dto/server-tool-call.ts).
 */
export class ServerToolCallQueryDto {
  // No example: Swagger UI would send it on every "Try it out", overriding the server's own timeout.
  @ApiPropertyOptional({ minimum: 1, maximum: MAX_TIMEOUT_MS, description: TIMEOUT_DESCRIPTION })
  @IsOptional()
  @Type(() => Number)
  @IsInt({ message: 'timeout must be an integer number of milliseconds' })
  @Min(1)
  @Max(MAX_TIMEOUT_MS)
  timeout?: number;

  @ApiPropertyOptional({ enum: EXECUTION_MODES, default: 'sync', description: MODE_DESCRIPTION })
  @IsOptional()
  @IsIn(EXECUTION_MODES, { message: 'mode must be sync or async' })
  mode?: ExecutionMode;
}

// ---------------------------------------------------------------- fast checks of the execute routes (hot path)
// Each accepts only what the decorators above accept unchanged; anything else takes the class-validator path,
// which produces the 400 INVALID_PARAMETERS and its `details.fields` (see tool.dto.spec.ts for the equivalence).

const isJsonObject = (value: unknown): boolean => typeof value === 'object' && value !== null && !Array.isArray(value);
const isTimeout = (value: unknown): boolean =>
  value === undefined || (Number.isInteger(value) && (value as number) >= 1 && (value as number) <= MAX_TIMEOUT_MS);
const isIdempotencyKey = (value: unknown): boolean =>
  value === undefined ||
  (typeof value === 'string' &&
    value.length >= 1 &&
    value.length <= MAX_IDEMPOTENCY_KEY &&
    IDEMPOTENCY_KEY_PATTERN.test(value));
const isMode = (value: unknown): boolean => value === undefined || value === 'sync' || value === 'async';
const matches = (value: unknown, pattern: RegExp): boolean => typeof value === 'string' && pattern.test(value);

const EXECUTE_TOOL_KEYS: ReadonlySet<string> = new Set([
  'parameters',
  'timeout',
  'server_id',
  'idempotency_key',
  'mode',
]);
const SERVER_TOOL_QUERY_KEYS: ReadonlySet<string> = new Set(['mode']);
const TOOL_NAME_KEYS: ReadonlySet<string> = new Set(['name']);
const SERVER_TOOL_KEYS: ReadonlySet<string> = new Set(['id', 'tool']);

registerFastCheck(
  ExecuteToolDto,
  (v) =>
    hasOnlyKeys(v, EXECUTE_TOOL_KEYS) &&
    isJsonObject(v.parameters) &&
    isTimeout(v.timeout) &&
    isIdempotencyKey(v.idempotency_key) &&
    isMode(v.mode) &&
    (v.server_id === undefined || matches(v.server_id, SERVER_ID_PATTERN)),
);
// A query string's values are strings: only a query without `timeout` (which class-transformer turns into a number)
// can pass unchanged; the usual one is empty.
registerFastCheck(ServerToolCallQueryDto, (v) => hasOnlyKeys(v, SERVER_TOOL_QUERY_KEYS) && isMode(v.mode));
registerFastCheck(ToolNameParamDto, (v) => hasOnlyKeys(v, TOOL_NAME_KEYS) && matches(v.name, TOOL_NAME_PATTERN));
registerFastCheck(
  ServerToolParamDto,
  (v) => hasOnlyKeys(v, SERVER_TOOL_KEYS) && matches(v.id, SERVER_ID_PATTERN) && matches(v.tool, TOOL_NAME_PATTERN),
);
