import { Body, Controller, Delete, Get, HttpCode, Param, Post, Put, Query } from '@nestjs/common';
import { ApiBody, ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Authenticated } from 'src/auth/authenticated.decorator';
import { ApiErrorResponses } from 'src/common/errors/api-error-responses.decorator';
import {
  ExplainDto,
  ExplainQueryDto,
  ExplainRequestDto,
  PolicyRuleDto,
  PolicyRuleIdParamDto,
  PolicyRuleInputDto,
  PolicyRuleListDto,
} from './dto/policy.dto';
import { PolicyExplainService } from './policy-explain.service';
import { PolicyRulesService } from './policy-rules.service';

const EVALUATION =
  'A rule applies when its server and tool pattern match, all its `when` conditions hold and not all its `unless` ' +
  'conditions do. Any applying deny denies; else any applying allow allows; else mcp.policy.default-effect. ' +
  'A denied tool is left out of every list and its call is a 403 naming the rule (docs/security.md).';

/**
 * Bodies are validated by the rule schema of `mcp.policy.rules` (zod), not by class-validator: one definition of a
 * rule for the file and the API. The body parameters are therefore typed `unknown` (the global pipe passes them on).
 */
@ApiTags('Policy')
@Controller('api/policy')
export class PolicyController {
  constructor(
    private readonly rules: PolicyRulesService,
    private readonly explainer: PolicyExplainService,
  ) {}

  @Get('rules')
  @Authenticated({ scopes: ['mcp:admin'] })
  @ApiOperation({ summary: 'Tool-level policy rules in effect', description: EVALUATION })
  @ApiOkResponse({ type: PolicyRuleListDto })
  listPolicyRules(): PolicyRuleListDto {
    return this.rules.list();
  }

  @Get('rules/:id')
  @Authenticated({ scopes: ['mcp:admin'] })
  @ApiOperation({ summary: 'One policy rule' })
  @ApiOkResponse({ type: PolicyRuleDto })
  @ApiErrorResponses(400, 404)
  getPolicyRule(@Param() { id }: PolicyRuleIdParamDto): PolicyRuleDto {
    return this.rules.get(id);
  }

  @Post('rules')
  @HttpCode(201)
  @Authenticated({ scopes: ['mcp:admin'] })
  @ApiOperation({
    summary: 'Add a policy rule',
    description: `Stored, and applied on every replica without a restart. ${EVALUATION}`,
  })
  @ApiBody({ type: PolicyRuleInputDto })
  @ApiCreatedResponse({ type: PolicyRuleDto })
  @ApiErrorResponses(400, 409)
  createPolicyRule(@Body() body: unknown): Promise<PolicyRuleDto> {
    return this.rules.create(body);
  }

  @Put('rules/:id')
  @Authenticated({ scopes: ['mcp:admin'] })
  @ApiOperation({
    summary: 'Replace a policy rule',
    description: 'Rules of the configuration file are read-only (409).',
  })
  @ApiBody({ type: PolicyRuleInputDto })
  @ApiOkResponse({ type: PolicyRuleDto })
  @ApiErrorResponses(400, 404, 409)
  replacePolicyRule(@Param() { id }: PolicyRuleIdParamDto, @Body() body: unknown): Promise<PolicyRuleDto> {
    return this.rules.replace(id, body);
  }

  @Delete('rules/:id')
  @Authenticated({ scopes: ['mcp:admin'] })
  @ApiOperation({
    summary: 'Delete a policy rule',
    description: 'Rules of the configuration file are read-only (409).',
  })
  @ApiOkResponse({ type: PolicyRuleDto })
  @ApiErrorResponses(400, 404, 409)
  deletePolicyRule(@Param() { id }: PolicyRuleIdParamDto): Promise<PolicyRuleDto> {
    return this.rules.remove(id);
  }

  @Get('explain')
  @Authenticated({ scopes: ['mcp:admin'] })
  @ApiOperation({
    summary: 'Which rule decides a tool for an API key (or the anonymous caller)',
    description: 'One decision per server offering the tool (or the server named). For a token holder: POST.',
  })
  @ApiOkResponse({ type: ExplainDto })
  @ApiErrorResponses(400, 404)
  explainPolicy(@Query() { tool, server, principal }: ExplainQueryDto): Promise<ExplainDto> {
    return this.explainer.forKey(tool, server, principal);
  }

  @Post('explain')
  @HttpCode(200)
  @Authenticated({ scopes: ['mcp:admin'] })
  @ApiOperation({
    summary: 'Which rule decides a tool for a token holder',
    description: "The caller is described by its token's claims (scope, groups, mcp_tier, ...): nothing is verified.",
  })
  @ApiBody({ type: ExplainRequestDto })
  @ApiOkResponse({ type: ExplainDto })
  @ApiErrorResponses(400, 404)
  explainPolicyForClaims(@Body() body: unknown): ExplainDto {
    return this.explainer.forClaims(body);
  }
}
