import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { WebhooksModule } from 'src/webhooks/webhooks.module';
import { ExecutionEntity } from './execution.entity';
import { GatewayInstanceEntity } from './gateway-instance.entity';
import { ExecutionRecorder } from './execution-recorder';
import { ExecutionRetention } from './execution-retention';
import { ExecutionSweeper } from './execution-sweeper';
import { ExecutionsController } from './executions.controller';
import { ExecutionsRepository } from './executions.repository';
import { ExecutionsService } from './executions.service';

/** The executions audit trail: the recorder (write side, batched) and `GET /api/executions` (read side). */
@Module({
  imports: [TypeOrmModule.forFeature([ExecutionEntity, GatewayInstanceEntity]), WebhooksModule],
  controllers: [ExecutionsController],
  providers: [ExecutionsRepository, ExecutionRecorder, ExecutionsService, ExecutionRetention, ExecutionSweeper],
  exports: [ExecutionsRepository, ExecutionRecorder, ExecutionRetention],
})
export class ExecutionsModule {}
