import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { Logger as PinoLogger } from 'nestjs-pino';
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
import { BootLogBuffer } from 'src/logging/boot-log-buffer';
import { applyLogger, ROOT_LOGGER } from 'src/logging/logging.module';
import { readyLine } from 'src/logging/ready-line';
import { HttpMetricsRecorder } from 'src/metrics/http-metrics.recorder';
import { translateEngineError } from 'src/mcp/engine-error';
import { bodylessRoutes } from './bodyless-routes';
import { applyHttpSecurity, createFastifyAdapter, setBodylessRoutes } from './fastify-adapter';
import { mountConsole } from './console';
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

  // Nest logs while it creates the application, before pino (one of its providers) exists: kept with their times.
  const bootLog = new BootLogBuffer();
  const apiAdapter = createFastifyAdapter({ bodyLimit: config.server.maxRequestSize, https: apiTls });
  const api = await NestFactory.create<NestFastifyApplication>(
    AppModule.forRoot(loaded),
    apiAdapter,
    // No urlencoded parser: a form body is a 415, not fields that validation then misreads (fastify-adapter.ts).
    { logger: bootLog, abortOnError: false, bodyParser: false },
  );
  const logger = applyLogger(api, bootLog);
  applyHttpSecurity(api, config);
  api.useGlobalFilters(new AllExceptionsFilter([translateEngineError]));
  api.useGlobalPipes(createValidationPipe());
  const httpMetrics = api.get(HttpMetricsRecorder);
  httpMetrics.attach(api.getHttpAdapter().getInstance());
  await api.init();
  setBodylessRoutes(apiAdapter, bodylessRoutes(api));
  try {
    api.get(HealthService).validateGroups();
  } catch (error) {
    await api.close(); // what init started (engine children, pools) must not outlive a refused start
    throw error;
  }
  mountOpenApi(api, buildOpenApiDocument(api, version));
  mountConsole(api, config);

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
    readyLine(version, [
      { name: 'api', address: api.getHttpServer().address(), tls: config.server.ssl.enabled },
      { name: 'management', address: management.getHttpServer().address(), tls: managementTls !== undefined },
      ...(metrics
        ? [{ name: 'metrics', address: metrics.getHttpServer().address(), tls: managementTls !== undefined }]
        : []),
    ]),
    'Bootstrap',
  );

  let stopping: Promise<void> | undefined;
  const listeners: Listeners = { api, management, metrics, state, logger };
  const timing = { drainMs: config.mcp.shutdown.drainDelay, graceMs: config.spring.lifecycle.timeoutPerShutdownPhase };
  const shutdown = (reason: string) => (stopping ??= stopAll(listeners, reason, timing));
  return { api, management, metrics, addresses, shutdown };
}

interface Listeners {
  api: NestFastifyApplication;
  management: NestFastifyApplication;
  metrics: NestFastifyApplication | null;
  state: ApplicationState;
  logger: PinoLogger;
}

/**
 * The stop of a replica behind a balancer: readiness goes OUT_OF_SERVICE at once, the listeners keep serving for the
 * drain delay (the balancer's checks see readiness down and stop sending here meanwhile; closing at once refused the
 * requests it still sent), then stop taking connections and give in-flight requests the grace period.
 */
async function stopAll(
  { api, management, metrics, state, logger }: Listeners,
  reason: string,
  { drainMs, graceMs }: { drainMs: number; graceMs: number },
): Promise<void> {
  const started = Date.now();
  state.markShuttingDown();
  logger.log(
    `Shutting down (${reason}): readiness OUT_OF_SERVICE, serving ${drainMs} ms more while balancers notice, then up to ${Math.round(graceMs / 1000)} s for requests in flight`,
    'Bootstrap',
  );
  const apps = [api, management, ...(metrics ? [metrics] : [])];
  const rootLogger = api.get<pino.Logger>(ROOT_LOGGER);

  // 1. Keep serving while balancers see readiness down.
  if (drainMs > 0) await delay(drainMs);
  // 2. Stop accepting and let in-flight requests finish, bounded by the grace period.
  const drained = Promise.all(apps.map((app) => app.getHttpAdapter().getInstance().close()));
  // Node closes the connections idle when close() is called; a keep-alive connection whose request finishes later
  // would hold the close until the grace period ends, so idle ones are closed as they appear.
  const sweep = setInterval(() => apps.forEach((app) => app.getHttpServer().closeIdleConnections()), 100);
  const timedOut = await Promise.race([drained.then(() => false), delay(graceMs).then(() => true)]);
  clearInterval(sweep);
  if (timedOut) {
    logger.warn(`Requests still in flight after ${graceMs} ms: closing their connections`, 'Bootstrap');
    for (const app of apps) app.getHttpServer().closeAllConnections();
  }
  // 3. Close what the modules hold (MCP connections and child processes, database, embedded PostgreSQL, Redis).
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
