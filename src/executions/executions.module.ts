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

/**
 * The executions audit trail: the recorder (write side: durable, group-committed, spooled while the database is away)
 * and `GET /api/executions` (read side). Its repository is its own: other modules call the recorder or the service.
 */
@Module({
  imports: [TypeOrmModule.forFeature([ExecutionEntity, GatewayInstanceEntity]), WebhooksModule],
  controllers: [ExecutionsController],
  providers: [ExecutionsRepository, ExecutionRecorder, ExecutionsService, ExecutionRetention, ExecutionSweeper],
  exports: [ExecutionRecorder, ExecutionsService, ExecutionRetention],
})
export class ExecutionsModule {}
