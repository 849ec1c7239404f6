import { Module } from '@nestjs/common';
import { makeCounterProvider } from '@willsoto/nestjs-prometheus';
import { ExecutionsModule } from 'src/executions/executions.module';
import { PolicyModule } from 'src/policy/policy.module';
import { MCP_UPSTREAM_CREDENTIALS } from 'src/metrics/metric-names';
import { ServersModule } from 'src/servers/servers.module';
import { BatchRunner } from './batch-runner';
import { CallPipeline } from './call-pipeline';
import { ArgumentValidator } from './stages/argument-validator';
import { CallPolicy } from './stages/call-policy';
import { CallRecord } from './stages/call-record';
import { Idempotency } from './stages/idempotency';
import { ToolResolver } from './stages/tool-resolver';
import { UpstreamCall } from './stages/upstream-call';
import { UpstreamCredential } from './stages/upstream-credential';

/** The call pipeline: every tool call, from any entry point, from a prepared request to its recorded outcome. */
@Module({
  imports: [ServersModule, ExecutionsModule, PolicyModule],
  providers: [
    makeCounterProvider({
      name: MCP_UPSTREAM_CREDENTIALS,
      help: 'Upstream credentials used, obtained, refreshed or refused (never the token), by server, mode and action',
      labelNames: ['server', 'mode', 'action'],
    }),
    ToolResolver,
    CallPolicy,
    UpstreamCredential,
    ArgumentValidator,
    Idempotency,
    UpstreamCall,
    CallRecord,
    CallPipeline,
    BatchRunner,
  ],
  exports: [CallPipeline, BatchRunner, ToolResolver, UpstreamCredential],
})
export class CallsModule {}
