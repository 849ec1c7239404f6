import { Injectable } from '@nestjs/common';
import { AppException } from 'src/common/errors/app.exception';
import type { Principal } from 'src/auth/principal';
import { ADMIN_SCOPE } from 'src/auth/scopes';
import type { ExecutionListDto, ExecutionRecordDto, ListExecutionsQueryDto } from './dto/execution.dto';
import type { ExecutionEntity } from './execution.entity';
import { ExecutionsRepository } from './executions.repository';

/** The audit trail, read side: a caller sees its own executions, an admin everyone's. */
@Injectable()
export class ExecutionsService {
  constructor(private readonly repository: ExecutionsRepository) {}

  async list(query: ListExecutionsQueryDto, principal?: Principal): Promise<ExecutionListDto> {
    const page = query.page ?? 1;
    const limit = query.limit ?? 50;
    const owner = ownerFilter(principal);
    // The filter narrows what the caller may see; it never widens it: another principal's rows stay hidden.
    if (owner !== undefined && query.principal !== undefined && query.principal !== owner) {
      return { executions: [], pagination: { page, limit, total: 0, has_next: false } };
    }
    const [rows, total] = await this.repository.list(
      {
        principal: owner ?? query.principal,
        serverId: query.server_id,
        toolName: query.tool,
        status: query.status,
      },
      page,
      limit,
    );
    return {
      executions: rows.map(toDto),
      pagination: { page, limit, total, has_next: page * limit < total },
    };
  }

  /** The record of an execution, unfiltered: for services that apply their own access rule (jobs). */
  findRecord(id: string): Promise<ExecutionEntity | null> {
    return this.repository.findById(id);
  }

  async get(id: string, principal?: Principal): Promise<ExecutionRecordDto> {
    const row = await this.repository.findById(id);
    const owner = ownerFilter(principal);
    if (!row || (owner !== undefined && row.principal !== owner)) {
      throw AppException.notFound(`Execution '${id}'`, { execution_id: id });
    }
    return toDto(row);
  }
}

/** The principal whose rows the caller may see; undefined: every row (admin). */
function ownerFilter(principal?: Principal): string | undefined {
  if (!principal) return '';
  return principal.scopes.has(ADMIN_SCOPE) ? undefined : principal.id;
}

export function toDto(row: ExecutionEntity): ExecutionRecordDto {
  return {
    execution_id: row.id,
    principal: row.principal,
    channel: row.channel,
    protocol_version: row.protocolVersion ?? null,
    input_rounds: row.inputRounds ?? null,
    server_id: row.serverId,
    virtual_server_id: row.virtualServerId ?? null,
    tool_name: row.toolName,
    status: row.status,
    parameters: row.parameters ?? null,
    parameters_truncated: row.parametersTruncated,
    result: row.result ?? null,
    result_truncated: row.resultTruncated,
    error: row.error,
    started_at: row.startedAt.toISOString(),
    completed_at: row.completedAt ? row.completedAt.toISOString() : null,
    duration_ms: row.durationMs,
    idempotency_key: row.idempotencyKey,
    batch_id: row.batchId,
    step_id: row.stepId,
  };
}
