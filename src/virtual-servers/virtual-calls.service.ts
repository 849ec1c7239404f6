import { Injectable } from '@nestjs/common';
import { isServerAllowed, type Principal } from 'src/auth/principal';
import { CallPipeline } from 'src/calls/call-pipeline';
import type { CallHooks, CallOutcome } from 'src/calls/call.types';
import { PolicyService } from 'src/policy/policy.service';
import type { VirtualToolDto } from './dto/virtual-server.dto';
import { type ExposedTool, exposedTools, resolveCall } from './virtual-composition';
import { VirtualServersService } from './virtual-servers.service';

/**
 * A virtual server's tools on REST: the list a caller may see (its allow-list and the tool-level policy, the same
 * evaluation as every other list, applied to the real server and tool) and a call, which becomes an ordinary call of
 * the real tool through the one call pipeline (ADR 0005), recorded with the virtual server's id.
 */
@Injectable()
export class VirtualCallsService {
  constructor(
    private readonly virtuals: VirtualServersService,
    private readonly policy: PolicyService,
    private readonly pipeline: CallPipeline,
  ) {}

  /** The exposed tools of `id` the caller may see; 404 for an unknown virtual server. */
  tools(id: string, principal: Principal | undefined): ExposedTool[] {
    const def = this.virtuals.find(id);
    const allowed = principal?.servers ?? undefined;
    return exposedTools(def, this.virtuals.catalog).filter(
      // Policy decides on the real tool (its upstream name and annotations), as for every other entry point.
      (t) =>
        isServerAllowed(allowed, t.serverId) &&
        this.policy.permits(principal, t.serverId, { name: t.toolName, annotations: t.tool.annotations }),
    );
  }

  /**
   * Calls an exposed tool: 404 for an unknown name, 400 when the caller sends a fixed argument; then the pipeline's
   * own answers (403 for a denied tool or server, 400 for bad arguments, 503 for a server that is down, ...).
   */
  call(
    id: string,
    name: string,
    args: Record<string, unknown>,
    options: { principal: Principal | undefined; timeoutMs?: number; idempotencyKey?: string },
    hooks: CallHooks = {},
  ): Promise<CallOutcome> {
    const def = this.virtuals.find(id);
    const call = resolveCall(def, name, args, this.virtuals.catalog);
    return this.pipeline.call(
      {
        toolName: call.toolName,
        serverId: call.serverId,
        arguments: call.arguments,
        principal: options.principal,
        channel: 'rest',
        virtualServerId: def.id,
        ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
        ...(options.idempotencyKey !== undefined ? { idempotencyKey: options.idempotencyKey } : {}),
      },
      hooks,
    );
  }
}

export function toVirtualToolDto(exposed: ExposedTool): VirtualToolDto {
  return {
    name: exposed.tool.name,
    ...(exposed.tool.description !== undefined ? { description: exposed.tool.description } : {}),
    input_schema: exposed.tool.inputSchema,
    server_id: exposed.serverId,
    tool_name: exposed.toolName,
  };
}
