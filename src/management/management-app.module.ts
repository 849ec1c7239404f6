import { type DynamicModule, type INestApplicationContext, Module, type Type } from '@nestjs/common';
import { CredentialVerifier } from 'src/auth/credential-verifier';
import { APP_CONFIG } from 'src/config/config.module';
import type { AppConfig } from 'src/config/config.schema';
import { ApplicationState } from 'src/health/application-state';
import { HealthService } from 'src/health/health.service';
import { ActuatorHealthController } from './actuator-health.controller';
import { ActuatorInfoController } from './actuator-info.controller';
import { ActuatorMetricsController } from './actuator-metrics.controller';
import { ActuatorPrometheusController } from './actuator-prometheus.controller';
import { ManagementAccess, ManagementAdminGuard } from './management-access';

/** The actuator endpoints named in `management.endpoints.web.exposure`; health is always served (probes). */
export function exposedActuatorControllers(config: AppConfig): Type[] {
  const { include, exclude } = config.management.endpoints.web.exposure;
  const on = (name: string) => (include.includes('*') || include.includes(name)) && !exclude.includes(name);
  return [
    ActuatorHealthController,
    ...(on('info') ? [ActuatorInfoController] : []),
    ...(on('metrics') ? [ActuatorMetricsController] : []),
    ...(on('prometheus') ? [ActuatorPrometheusController] : []),
  ];
}

/**
 * The management listener (8081) is a separate Nest application so its routes never appear on the API port,
 * but it reads the API application's own service instances: one database pool, one engine, one state.
 * Only hook-less services are shared, so closing this app never shuts them down twice.
 */
@Module({})
export class ManagementAppModule {
  static forRoot(api: INestApplicationContext): DynamicModule {
    const config = api.get<AppConfig>(APP_CONFIG);
    return {
      module: ManagementAppModule,
      controllers: exposedActuatorControllers(config),
      providers: [
        { provide: APP_CONFIG, useValue: config },
        { provide: HealthService, useValue: api.get<HealthService>(HealthService) },
        { provide: ApplicationState, useValue: api.get<ApplicationState>(ApplicationState) },
        // The API's verifier (its passport strategies, API-key cache, JWKS client): the same verification.
        { provide: CredentialVerifier, useValue: api.get<CredentialVerifier>(CredentialVerifier) },
        ManagementAccess,
        ManagementAdminGuard,
      ],
    };
  }
}

/** The dedicated Prometheus scrape listener (9090): the same text as /actuator/prometheus on 8081. */
@Module({ controllers: [ActuatorPrometheusController] })
export class MetricsScrapeAppModule {}
