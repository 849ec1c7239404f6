import { Module } from '@nestjs/common';
import { CallsModule } from 'src/calls/calls.module';
import { ServersModule } from 'src/servers/servers.module';
import { PromptsController } from './prompts.controller';
import { PromptsService } from './prompts.service';
import { ResourcesController } from './resources.controller';
import { ResourcesService } from './resources.service';

/** Resources, resource templates and prompts of the upstream servers (API.md, "Resources and prompts"). */
@Module({
  imports: [ServersModule, CallsModule],
  controllers: [ResourcesController, PromptsController],
  providers: [ResourcesService, PromptsService],
  exports: [ResourcesService, PromptsService],
})
export class ResourcesModule {}
