import { Global, Module, type OnModuleInit } from '@nestjs/common';
import { collectDefaultMetrics, register } from 'prom-client';
import { makeHistogramProvider } from '@willsoto/nestjs-prometheus';
import { HttpMetricsRecorder } from './http-metrics.recorder';
import { HTTP_SERVER_REQUESTS } from './metric-names';

/** Metrics of the API process. Exposition (the /actuator/prometheus routes) lives with the management listener. */
@Global()
@Module({
  providers: [
    makeHistogramProvider({
      name: HTTP_SERVER_REQUESTS,
      help: 'Duration of HTTP server requests',
      labelNames: ['method', 'uri', 'status', 'outcome'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 2.5, 5, 10, 30],
    }),
    HttpMetricsRecorder,
  ],
  exports: [HttpMetricsRecorder],
})
export class MetricsModule implements OnModuleInit {
  onModuleInit(): void {
    // Process metrics (CPU, memory, event loop lag, GC, handles) once per process, whatever tests create.
    if (!register.getSingleMetric('process_cpu_user_seconds_total')) collectDefaultMetrics();
  }
}
