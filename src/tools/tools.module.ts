import { Module } from '@nestjs/common';
import { CallsModule } from 'src/calls/calls.module';
import { JobsModule } from 'src/jobs/jobs.module';
import { PolicyModule } from 'src/policy/policy.module';
import { ServersModule } from 'src/servers/servers.module';
import { ToolsController } from './tools.controller';
import { ToolsService } from './tools.service';

@Module({
  imports: [ServersModule, CallsModule, JobsModule, PolicyModule],
  controllers: [ToolsController],
  providers: [ToolsService],
  exports: [ToolsService],
})
export class ToolsModule {}
