import { Module } from '@nestjs/common';
import { ExecutionsModule } from 'src/executions/executions.module';
import { JobsController } from './jobs.controller';
import { JobsService } from './jobs.service';

/** Tool calls as jobs: asynchronous executions, their event streams and cancellation. */
@Module({
  imports: [ExecutionsModule],
  controllers: [JobsController],
  providers: [JobsService],
  exports: [JobsService],
})
export class JobsModule {}
