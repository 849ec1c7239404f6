import { Controller, Get, Inject, Req } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { APP_CONFIG } from 'src/config/config.module';
import type { AppConfig } from 'src/config/config.schema';
import { ApplicationState } from 'src/health/application-state';
import { readBuildInfo, type BuildInfo } from 'src/common/build-info';
import { ManagementAccess } from './management-access';

/** Name and version for everyone; build, git, runtime, process and the `info.*` settings for `mcp:admin` only. */
@Controller('info')
export class ActuatorInfoController {
  private readonly build: BuildInfo = readBuildInfo();

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(ApplicationState) private readonly state: ApplicationState,
    @Inject(ManagementAccess) private readonly access: ManagementAccess,
  ) {}

  @Get()
  async info(@Req() request: FastifyRequest) {
    if (!(await this.access.isAdmin(request))) {
      return { app: { name: this.config.spring.application.name, version: this.build.version } };
    }
    return {
      app: { name: this.config.spring.application.name, version: this.build.version, ...(this.config.info ?? {}) },
      build: { name: this.build.name, version: this.build.version, time: this.build.buildTime },
      git: { commit: { id: this.build.commit } },
      runtime: { node: process.version, platform: process.platform, arch: process.arch, pid: process.pid },
      process: { started_at: this.state.startedAt.toISOString(), uptime_seconds: this.state.uptimeSeconds },
    };
  }
}
