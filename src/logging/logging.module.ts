import {
  Global,
  Inject,
  type INestApplication,
  Module,
  type OnApplicationShutdown,
  type OnModuleInit,
} from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance } from 'fastify';
import { Logger, LoggerModule } from 'nestjs-pino';
import type pino from 'pino';
import { APP_CONFIG } from 'src/config/config.module';
import type { AppConfig } from 'src/config/config.schema';
import type { BootLogBuffer } from './boot-log-buffer';
import { closeRootLogger, createRootLogger, flushRootLogger } from './logger.factory';
import { ROOT_LOGGER } from './logging.tokens';
import { RequestLogging } from './request-logging';

export { ROOT_LOGGER };

/**
 * Logging for the whole application: nestjs-pino over the root logger built from `logging.*`, so Nest's own
 * `Logger` goes through it once {@link applyLogger} has run; per request, {@link RequestLogging}'s hooks on the HTTP
 * listener of the application that imports this module (the request id on every line, one line per request).
 */
@Global()
@Module({
  imports: [
    LoggerModule.forRootAsync({
      inject: [ROOT_LOGGER],
      useFactory: (root: pino.Logger) => ({
        // nestjs-pino takes its root logger from here; its pino-http middleware is mounted on no route: the
        // per-request side is RequestLogging's Fastify hooks (see there why).
        pinoHttp: { logger: root },
        forRoutes: [],
      }),
    }),
  ],
  providers: [
    { provide: ROOT_LOGGER, inject: [APP_CONFIG], useFactory: (config: AppConfig) => createRootLogger(config) },
    RequestLogging,
  ],
  exports: [ROOT_LOGGER, LoggerModule],
})
export class LoggingModule implements OnModuleInit, OnApplicationShutdown {
  constructor(
    @Inject(ROOT_LOGGER) private readonly root: pino.Logger,
    private readonly requestLogging: RequestLogging,
    private readonly adapterHost: HttpAdapterHost,
  ) {}

  /** Before the listener starts (Fastify takes hooks until it is ready); nothing to do without one (CLI runs). */
  onModuleInit(): void {
    const instance: unknown = this.adapterHost.httpAdapter?.getInstance();
    if (instance && typeof (instance as FastifyInstance).addHook === 'function')
      this.requestLogging.attach(instance as FastifyInstance);
  }

  /** Writes out what is buffered; the file stays open for the lines other modules log while they stop. */
  async onApplicationShutdown(): Promise<void> {
    await flushRootLogger(this.root);
  }
}

/**
 * Routes Nest's logging through pino. Call it right after `NestFactory.create(..., { logger: boot })`: the lines
 * `boot` kept while the application was created are written then, each with the time it was logged (with Nest's
 * `bufferLogs: true` instead, they are replayed here with the time of the replay).
 */
export function applyLogger(app: INestApplication, boot?: BootLogBuffer): Logger {
  const logger = app.get(Logger);
  app.useLogger(logger); // also replays what Nest's own buffer holds (autoFlushLogs)
  boot?.replayInto(logger);
  return logger;
}

/** Flushes and closes the log file; the last step of shutdown, after every application is closed. */
export async function closeLogging(app: INestApplication): Promise<void> {
  await closeRootLogger(app.get<pino.Logger>(ROOT_LOGGER));
}
