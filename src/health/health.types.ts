export type HealthStatus = 'UP' | 'DOWN' | 'OUT_OF_SERVICE' | 'UNKNOWN';

export interface ComponentHealth {
  status: HealthStatus;
  details?: Record<string, unknown>;
}

/** Spring Boot Actuator's shape, which the guide's probes, scripts and dashboards expect. */
export interface HealthReport {
  status: HealthStatus;
  components?: Record<string, ComponentHealth>;
  details?: Record<string, unknown>;
}

export interface HealthContributor {
  name: string;
  check(): Promise<ComponentHealth>;
}

/** Who is asking decides how much is shown (`management.endpoint.health.show-details`). */
export interface HealthViewer {
  authorized: boolean;
}

export const httpStatusOf = (status: HealthStatus): number => (status === 'UP' || status === 'UNKNOWN' ? 200 : 503);
