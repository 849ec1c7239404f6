import { Module } from '@nestjs/common';
import { ExecutionsModule } from 'src/executions/executions.module';
import { PolicyModule } from 'src/policy/policy.module';
import { ServersModule } from 'src/servers/servers.module';
import { BatchRunner } from './batch-runner';
import { CallPipeline } from './call-pipeline';
import { ArgumentValidator } from './stages/argument-validator';
import { CallPolicy } from './stages/call-policy';
import { CallRecord } from './stages/call-record';
import { Idempotency } from './stages/idempotency';
import { ToolResolver } from './stages/tool-resolver';
import { UpstreamCall } from './stages/upstream-call';

/** The call pipeline: every tool call, from any entry point, from a prepared request to its recorded outcome. */
@Module({
  imports: [ServersModule, ExecutionsModule, PolicyModule],
  providers: [
    ToolResolver,
    CallPolicy,
    ArgumentValidator,
    Idempotency,
    UpstreamCall,
    CallRecord,
    CallPipeline,
    BatchRunner,
  ],
  exports: [CallPipeline, BatchRunner, ToolResolver],
})
export class CallsModule {}
