import { Controller, Get, Inject, NotFoundException, Param, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { HealthService } from 'src/health/health.service';
import { httpStatusOf, type HealthReport, type HealthViewer } from 'src/health/health.types';

// Until credentials exist on the management port nobody is "authorized", so `when-authorized` hides details.
const ANONYMOUS: HealthViewer = { authorized: false };

/** Spring Boot Actuator's health endpoints: the paths and bodies probes, load balancers and the guide use. */
@Controller('health')
export class ActuatorHealthController {
  constructor(@Inject(HealthService) private readonly health: HealthService) {}

  @Get()
  async overall(@Res({ passthrough: true }) reply: FastifyReply): Promise<HealthReport> {
    return respond(reply, await this.health.overall(ANONYMOUS));
  }

  @Get('liveness')
  liveness(@Res({ passthrough: true }) reply: FastifyReply): HealthReport {
    return respond(reply, this.health.liveness());
  }

  @Get('readiness')
  async readiness(@Res({ passthrough: true }) reply: FastifyReply): Promise<HealthReport> {
    return respond(reply, await this.health.readiness(ANONYMOUS));
  }

  @Get('startup')
  startup(@Res({ passthrough: true }) reply: FastifyReply): HealthReport {
    return respond(reply, this.health.startup());
  }

  @Get(':component')
  async component(
    @Param('component') name: string,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<HealthReport> {
    const report = await this.health.component(name, ANONYMOUS);
    if (!report) throw new NotFoundException(`No health component named '${name}'`);
    return respond(reply, report);
  }
}

function respond(reply: FastifyReply, report: HealthReport): HealthReport {
  void reply.status(httpStatusOf(report.status)).header('cache-control', 'no-store');
  return report;
}
