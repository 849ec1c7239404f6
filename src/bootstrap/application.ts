import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Logger as PinoLogger } from 'nestjs-pino';
import type pino from 'pino';
import type { AddressInfo } from 'node:net';
import { AppModule } from 'src/app.module';
import { AllExceptionsFilter } from 'src/common/errors/all-exceptions.filter';
import { createValidationPipe } from 'src/common/errors/validation.pipe';
import type { LoadedConfig } from 'src/config/config.loader';
import { ApplicationState } from 'src/health/application-state';
import { HealthService } from 'src/health/health.service';
import { readBuildInfo } from 'src/common/build-info';
import { ManagementAppModule, MetricsScrapeAppModule } from 'src/management/management-app.module';
import { closeRootLogger } from 'src/logging/logger.factory';
import { ROOT_LOGGER } from 'src/logging/logging.module';
import { HttpMetricsRecorder } from 'src/metrics/http-metrics.recorder';
import { translateEngineError } from 'src/mcp/engine-error';
import { applyHttpSecurity, createFastifyAdapter } from './fastify-adapter';
import { buildOpenApiDocument, mountOpenApi } from './openapi';
import { managementTlsOptionsFrom, refuseUntrustedClientCertificates, tlsOptionsFrom } from 'src/config/tls-options';

export interface ListenerAddresses {
  api: string;
  management: string;
  metrics: string | null;
}

export interface RunningGateway {
  api: NestFastifyApplication;
  management: NestFastifyApplication;
  metrics: NestFastifyApplication | null;
  addresses: ListenerAddresses;
  /** Stops accepting, lets in-flight requests finish (bounded), then closes every resource. Idempotent. */
  shutdown(reason: string): Promise<void>;
}

/**
 * Starts the three listeners: API (`server.port`), management (`management.server.port`) and Prometheus
 * (`management.prometheus.port`, 0 = management port only).
 */
export async function startGateway(loaded: LoadedConfig): Promise<RunningGateway> {
  const { config } = loaded;
  const version = readBuildInfo().version;
  // Key material first: a wrong path or password stops the start before anything is opened. The management TLS
  // options serve both the management and the scrape listener.
  const apiTls = tlsOptionsFrom(config, loaded.configDir);
  const managementTls = managementTlsOptionsFrom(config, loaded.configDir);

  const api = await NestFactory.create<NestFastifyApplication>(
    AppModule.forRoot(loaded),
    createFastifyAdapter({ bodyLimit: config.server.maxRequestSize, https: apiTls }),
    { bufferLogs: true, abortOnError: false },
  );
  const logger = api.get(PinoLogger);
  api.useLogger(logger);
  applyHttpSecurity(api, config);
  api.useGlobalFilters(new AllExceptionsFilter([translateEngineError]));
  api.useGlobalPipes(createValidationPipe());
  const httpMetrics = api.get(HttpMetricsRecorder);
  httpMetrics.attach(api.getHttpAdapter().getInstance());
  await api.init();
  try {
    api.get(HealthService).validateGroups();
  } catch (error) {
    await api.close(); // what init started (engine children, pools) must not outlive a refused start
    throw error;
  }
  mountOpenApi(api, buildOpenApiDocument(api, version));

  const management = await NestFactory.create<NestFastifyApplication>(
    ManagementAppModule.forRoot(api),
    createFastifyAdapter({ bodyLimit: 64 * 1024, https: managementTls }),
    { logger },
  );
  management.setGlobalPrefix(config.management.endpoints.web.basePath);
  management.useGlobalFilters(new AllExceptionsFilter());
  httpMetrics.attach(management.getHttpAdapter().getInstance());

  let metrics: NestFastifyApplication | null = null;
  if (config.management.prometheus.port !== 0) {
    metrics = await NestFactory.create<NestFastifyApplication>(
      MetricsScrapeAppModule,
      createFastifyAdapter({ bodyLimit: 1024, https: managementTls }),
      { logger },
    );
    metrics.setGlobalPrefix(config.management.endpoints.web.basePath);
    metrics.useGlobalFilters(new AllExceptionsFilter());
  }

  refuseUntrustedClientCertificates(api.getHttpServer(), config.server.ssl);
  refuseUntrustedClientCertificates(management.getHttpServer(), config.management.server.ssl);
  if (metrics) refuseUntrustedClientCertificates(metrics.getHttpServer(), config.management.server.ssl);
  await api.listen(config.server.port, config.server.address);
  await management.listen(config.management.server.port, config.management.server.address ?? config.server.address);
  if (metrics)
    await metrics.listen(config.management.prometheus.port, config.management.server.address ?? config.server.address);

  const addresses: ListenerAddresses = {
    api: urlOf(api, config.server.ssl.enabled),
    management: urlOf(management, managementTls !== undefined),
    metrics: metrics ? urlOf(metrics, managementTls !== undefined) : null,
  };
  const state = api.get(ApplicationState);
  state.markStarted();
  logger.log(
    `globalmcp ${version} ready: api ${addresses.api}, management ${addresses.management}${addresses.metrics ? `, metrics ${addresses.metrics}` : ''}`,
    'Bootstrap',
  );

  let stopping: Promise<void> | undefined;
  const shutdown = (reason: string) => {
    stopping ??= stopAll({
      api,
      management,
      metrics,
      state,
      logger,
      reason,
      graceMs: config.spring.lifecycle.timeoutPerShutdownPhase,
    });
    return stopping;
  };
  return { api, management, metrics, addresses, shutdown };
}

interface StopContext {
  api: NestFastifyApplication;
  management: NestFastifyApplication;
  metrics: NestFastifyApplication | null;
  state: ApplicationState;
  logger: PinoLogger;
  reason: string;
  graceMs: number;
}

async function stopAll({ api, management, metrics, state, logger, reason, graceMs }: StopContext): Promise<void> {
  const started = Date.now();
  logger.log(
    `Shutting down (${reason}): no new requests, up to ${Math.round(graceMs / 1000)} s for those in flight`,
    'Bootstrap',
  );
  state.markShuttingDown();
  const apps = [api, management, ...(metrics ? [metrics] : [])];
  const rootLogger = api.get<pino.Logger>(ROOT_LOGGER);

  // 1. Stop accepting and let in-flight requests finish, bounded by the grace period.
  const drained = Promise.all(apps.map((app) => app.getHttpAdapter().getInstance().close()));
  const timedOut = await Promise.race([drained.then(() => false), delay(graceMs).then(() => true)]);
  if (timedOut) {
    logger.warn(`Requests still in flight after ${graceMs} ms: closing their connections`, 'Bootstrap');
    for (const app of apps) app.getHttpServer().closeAllConnections();
  }
  // 2. Close what the modules hold (MCP connections and child processes, database, embedded PostgreSQL, Redis).
  for (const app of [...apps].reverse()) await closeQuietly(app, logger);
  logger.log(`Stopped in ${Date.now() - started} ms`, 'Bootstrap');
  await closeRootLogger(rootLogger);
}

async function closeQuietly(app: INestApplication, logger: PinoLogger): Promise<void> {
  try {
    await app.close();
  } catch (error) {
    logger.error({ err: error }, 'Error while closing', 'Bootstrap');
  }
}

function urlOf(app: NestFastifyApplication, tls: boolean): string {
  const address = app.getHttpServer().address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return `${tls ? 'https' : 'http'}://${host === '0.0.0.0' ? '127.0.0.1' : host}:${address.port}`;
}

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());
