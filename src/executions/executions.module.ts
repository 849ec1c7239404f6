import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { WebhooksModule } from 'src/webhooks/webhooks.module';
import { ExecutionEntity } from './execution.entity';
import { ExecutionRecorder } from './execution-recorder';
import { ExecutionRetention } from './execution-retention';
import { ExecutionsController } from './executions.controller';
import { ExecutionsRepository } from './executions.repository';
import { ExecutionsService } from './executions.service';

/** The executions audit trail: the recorder (write side, batched) and `GET /api/executions` (read side). */
@Module({
  imports: [TypeOrmModule.forFeature([ExecutionEntity]), WebhooksModule],
  controllers: [ExecutionsController],
  providers: [ExecutionsRepository, ExecutionRecorder, ExecutionsService, ExecutionRetention],
  exports: [ExecutionsRepository, ExecutionRecorder, ExecutionRetention],
})
export class ExecutionsModule {}
