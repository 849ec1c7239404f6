import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, Matches, MaxLength } from 'class-validator';
import { POLICY_RULE_ID_PATTERN, TOOL_PATTERN } from 'src/config/policy-rule.schema';
import { SERVER_ID_PATTERN } from 'src/common/patterns';

/** The conditions of a rule (every one given must hold; a list holds when any of its values does). */
export class PolicyConditionsDto {
  @ApiPropertyOptional({ type: [String], example: ['mcp:write'], description: 'The caller holds any of these scopes' })
  scopes?: string[];

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: { oneOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }] },
    example: { groups: ['admins'] },
    description: "The caller's token claim (a string or a list) contains any of the values, for each claim named",
  })
  claims?: Record<string, string | string[]>;

  @ApiPropertyOptional({ type: [String], description: 'The caller is one of these API keys (key ids)' })
  api_keys?: string[];

  @ApiPropertyOptional({ type: [String], example: ['free'], description: "The caller's tier is one of these" })
  tiers?: string[];

  @ApiPropertyOptional({
    type: 'object',
    properties: {
      readOnlyHint: { type: 'boolean' },
      destructiveHint: { type: 'boolean' },
      idempotentHint: { type: 'boolean' },
      openWorldHint: { type: 'boolean' },
    },
    additionalProperties: false,
    example: { readOnlyHint: true },
    description: "The tool's annotation hints have these values (unset hints take the MCP specification's defaults)",
  })
  annotations?: Record<string, boolean | undefined>;
}

/** A rule as `POST /api/policy/rules` takes it (validated by the schema `mcp.policy.rules` uses). */
export class PolicyRuleInputDto {
  @ApiProperty({ example: 'no-deletes', pattern: POLICY_RULE_ID_PATTERN.source, description: 'Named in every 403' })
  id!: string;

  @ApiProperty({ enum: ['allow', 'deny'] })
  effect!: 'allow' | 'deny';

  @ApiPropertyOptional({ default: '*', example: 'github', description: 'A server id, or `*` for every server' })
  server?: string;

  @ApiPropertyOptional({
    default: '*',
    example: 'delete_*',
    pattern: TOOL_PATTERN.source,
    description: "The tool's name on its server; `*` any run of characters, `?` one character",
  })
  tool?: string;

  @ApiPropertyOptional({ maxLength: 500 })
  description?: string;

  @ApiPropertyOptional({ type: PolicyConditionsDto, description: 'The rule applies only when all of these hold' })
  when?: PolicyConditionsDto;

  @ApiPropertyOptional({ type: PolicyConditionsDto, description: 'The rule does not apply when all of these hold' })
  unless?: PolicyConditionsDto;
}

export class PolicyRuleDto extends PolicyRuleInputDto {
  @ApiProperty({ enum: ['config', 'api'], description: '`config` rules are read-only here (mcp.policy.rules)' })
  source!: 'config' | 'api';
}

export class PolicyRuleListDto {
  @ApiProperty({
    type: [PolicyRuleDto],
    description: 'In evaluation order: the configuration, then the API oldest first',
  })
  rules!: PolicyRuleDto[];

  @ApiProperty({ enum: ['allow', 'deny'], description: 'mcp.policy.default-effect: the outcome when no rule applies' })
  default_effect!: 'allow' | 'deny';
}

export class PolicyRuleIdParamDto {
  @ApiProperty({ example: 'no-deletes', pattern: POLICY_RULE_ID_PATTERN.source })
  @Matches(POLICY_RULE_ID_PATTERN, { message: 'id must be 1-64 letters, digits, `_`, `.` or `-`' })
  id!: string;
}

export class ExplainQueryDto {
  @ApiProperty({ example: 'delete_file', description: "The tool's name on its server" })
  @IsString()
  @MaxLength(512)
  tool!: string;

  @ApiPropertyOptional({ example: 'everything', description: 'Without it: every server offering the tool' })
  @IsOptional()
  @Matches(SERVER_ID_PATTERN, { message: 'server must be a server id' })
  server?: string;

  @ApiPropertyOptional({
    example: '0b6f3c9e-8a44-4c47-9d0e-3f5a2f3c1d20',
    description:
      'An API key id (or `key:<id>`), or `anonymous`; without it, the anonymous caller. A token is not stored by the ' +
      'gateway: explain a token holder with POST /api/policy/explain and its claims.',
  })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  principal?: string;
}

export class ExplainPrincipalDto {
  @ApiProperty({
    description: 'API key principal id (`key:<id>`), token principal (`jwt:<iss>:<sub>`), or `anonymous`',
  })
  id!: string;

  @ApiProperty({ enum: ['api-key', 'jwt', 'oauth2', 'anonymous'] })
  kind!: string;

  @ApiPropertyOptional({ nullable: true, type: String })
  tier!: string | null;

  @ApiProperty({ type: [String] })
  scopes!: string[];
}

export class ExplainDecisionDto {
  @ApiProperty() server_id!: string;
  @ApiProperty({ enum: ['allow', 'deny'] }) effect!: 'allow' | 'deny';
  @ApiProperty({ description: 'The deciding rule, or `mcp.policy.default-effect` when no rule applied' })
  rule!: string;
  @ApiProperty({ type: [String], description: 'Every rule that applied, in evaluation order' })
  matched!: string[];
  @ApiProperty({ description: "Whether the caller's server allow-list (and, for a call, mcp:write) lets it through" })
  server_allowed!: boolean;
}

export class ExplainDto {
  @ApiProperty() tool!: string;
  @ApiProperty({ type: ExplainPrincipalDto }) principal!: ExplainPrincipalDto;
  @ApiProperty({ type: [ExplainDecisionDto] }) decisions!: ExplainDecisionDto[];
}

/** A hypothetical caller, for explaining what a token holder gets (its claims as the token would carry them). */
export class ExplainRequestDto {
  @ApiProperty({ example: 'delete_file' }) tool!: string;
  @ApiPropertyOptional({ example: 'everything' }) server?: string;
  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: true,
    example: { sub: 'alice', scope: 'mcp:read mcp:write', groups: ['admins'] },
    description:
      "The token's claims: scopes come from `scope`/`scp`, the tier from `mcp_tier`, the allow-list from `mcp_servers`",
  })
  claims?: Record<string, unknown>;
}
