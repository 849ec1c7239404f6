import { Global, Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { ApiHealthController } from './api-health.controller';
import { ApplicationState } from './application-state';
import { HealthService } from './health.service';

@Global()
@Module({
  imports: [TerminusModule.forRoot({ logger: false })],
  controllers: [ApiHealthController],
  providers: [ApplicationState, HealthService],
  exports: [ApplicationState, HealthService],
})
export class HealthModule {}
