import { Controller, Get, Inject, NotFoundException, Param, Req, Res } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { HealthService } from 'src/health/health.service';
import { httpStatusOf, type HealthReport } from 'src/health/health.types';
import { ManagementAccess } from './management-access';

/**
 * Spring Boot Actuator's health endpoints: the paths and bodies probes, load balancers and the guide use.
 * Liveness and startup never look at credentials; `show-details`/`show-components: when-authorized` show details
 * and components to a caller with an `mcp:admin` credential (see ManagementAccess), `always`/`never` to everyone.
 */
@Controller('health')
export class ActuatorHealthController {
  constructor(
    @Inject(HealthService) private readonly health: HealthService,
    @Inject(ManagementAccess) private readonly access: ManagementAccess,
  ) {}

  @Get()
  async overall(
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<HealthReport> {
    return respond(reply, await this.health.overall(await this.access.healthViewer(request)));
  }

  @Get('liveness')
  liveness(@Res({ passthrough: true }) reply: FastifyReply): HealthReport {
    return respond(reply, this.health.liveness());
  }

  @Get('readiness')
  async readiness(
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<HealthReport> {
    return respond(reply, await this.health.readiness(await this.access.healthViewer(request)));
  }

  @Get('startup')
  startup(@Res({ passthrough: true }) reply: FastifyReply): HealthReport {
    return respond(reply, this.health.startup());
  }

  @Get(':component')
  async component(
    @Param('component') name: string,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<HealthReport> {
    const report = await this.health.component(name, await this.access.healthViewer(request));
    if (!report) throw new NotFoundException(`No health component named '${name}'`);
    return respond(reply, report);
  }
}

function respond(reply: FastifyReply, report: HealthReport): HealthReport {
  void reply.status(httpStatusOf(report.status)).header('cache-control', 'no-store');
  return report;
}
