import { Global, Module, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance } from 'fastify';
import { readBuildInfo } from 'src/common/build-info';
import { APP_CONFIG } from 'src/config/config.module';
import type { AppConfig } from 'src/config/config.schema';
import { attachRequestTracing } from './request-tracing';
import { Tracing } from './tracing.service';
import { tracingSettingsFrom } from './tracing.settings';

/**
 * OpenTelemetry traces (`management.tracing.*`, `management.otlp.tracing.*` and the standard `OTEL_*` variables):
 * {@link Tracing} for the call stages and, on the API listener, a server span per request. Global, so the guard and
 * the call stages inject it without importing this module. With tracing off nothing is registered or attached.
 */
@Global()
@Module({
  providers: [
    {
      provide: Tracing,
      inject: [APP_CONFIG],
      // The one place the OTel variables are read for the gateway's own mapping (the exporter reads its own).
      useFactory: (config: AppConfig) =>
        Tracing.start(tracingSettingsFrom(config, process.env), readBuildInfo().version),
    },
  ],
  exports: [Tracing],
})
export class TracingModule implements OnModuleInit, OnApplicationShutdown {
  constructor(
    private readonly tracing: Tracing,
    private readonly adapterHost: HttpAdapterHost,
  ) {}

  /** Before the listener starts (Fastify takes hooks and decorations until it is ready). */
  onModuleInit(): void {
    const tracer = this.tracing.requestTracer;
    const instance: unknown = this.adapterHost.httpAdapter?.getInstance();
    if (tracer && instance && typeof (instance as FastifyInstance).addHook === 'function')
      attachRequestTracing(instance as FastifyInstance, tracer);
  }

  /** Exports the spans still buffered (bounded by the exporter's timeout) before the process ends. */
  async onApplicationShutdown(): Promise<void> {
    await this.tracing.shutdown();
  }
}
