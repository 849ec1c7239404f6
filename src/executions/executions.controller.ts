import { Controller, Get, Param, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Authenticated } from 'src/auth/authenticated.decorator';
import { CurrentPrincipal } from 'src/auth/current-principal.decorator';
import type { Principal } from 'src/auth/principal';
import { ApiErrorResponses } from 'src/common/errors/api-error-responses.decorator';
import { ExecutionIdParamDto, ExecutionListDto, ExecutionRecordDto, ListExecutionsQueryDto } from './dto/execution.dto';
import { ExecutionsService } from './executions.service';

@ApiTags('Executions')
@Controller('api/executions')
export class ExecutionsController {
  constructor(private readonly executions: ExecutionsService) {}

  @Get()
  @Authenticated({ scopes: ['mcp:read'] })
  @ApiOperation({
    summary: 'The audit trail of tool calls',
    description:
      "Newest first. A caller sees its own executions; an admin everyone's. Records are written in batches: a call " +
      'appears within about 200 ms of its answer.',
  })
  @ApiOkResponse({ type: ExecutionListDto })
  @ApiErrorResponses(400)
  list(@Query() query: ListExecutionsQueryDto, @CurrentPrincipal() principal?: Principal): Promise<ExecutionListDto> {
    return this.executions.list(query, principal);
  }

  @Get(':id')
  @Authenticated({ scopes: ['mcp:read'] })
  @ApiOperation({ summary: 'One execution', description: "404 for an unknown id or another caller's execution." })
  @ApiOkResponse({ type: ExecutionRecordDto })
  @ApiErrorResponses(400, 404)
  get(@Param() { id }: ExecutionIdParamDto, @CurrentPrincipal() principal?: Principal): Promise<ExecutionRecordDto> {
    return this.executions.get(id, principal);
  }
}
