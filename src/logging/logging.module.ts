import {
  Global,
  Inject,
  type INestApplication,
  Module,
  type OnApplicationShutdown,
  RequestMethod,
} from '@nestjs/common';
import { Logger, LoggerModule } from 'nestjs-pino';
import type pino from 'pino';
import { APP_CONFIG } from 'src/config/config.module';
import type { AppConfig } from 'src/config/config.schema';
import { httpLoggingOptions } from './http-logging.options';
import { closeRootLogger, createRootLogger, flushRootLogger } from './logger.factory';

/** The process's root pino logger (see {@link createRootLogger}); inject it to close it after `app.close()`. */
export const ROOT_LOGGER = Symbol('ROOT_LOGGER');

/**
 * Logging for the whole application: nestjs-pino over the root logger built from `logging.*`, with pino-http
 * giving each request its id and one line when it finishes. Nest's own `Logger` goes through it once
 * {@link applyLogger} has run.
 */
@Global()
@Module({
  imports: [
    LoggerModule.forRootAsync({
      inject: [ROOT_LOGGER],
      useFactory: (root: pino.Logger) => ({
        pinoHttp: httpLoggingOptions(root),
        // nestjs-pino's default route, `{/*splat}`, matches nothing under @nestjs/platform-fastify 12.5 with
        // @fastify/middie 9 (no request got an id or a line); this form matches every route.
        forRoutes: [{ path: '{*splat}', method: RequestMethod.ALL }],
      }),
    }),
  ],
  providers: [
    { provide: ROOT_LOGGER, inject: [APP_CONFIG], useFactory: (config: AppConfig) => createRootLogger(config) },
  ],
  exports: [ROOT_LOGGER, LoggerModule],
})
export class LoggingModule implements OnApplicationShutdown {
  constructor(@Inject(ROOT_LOGGER) private readonly root: pino.Logger) {}

  /** Writes out what is buffered; the file stays open for the lines other modules log while they stop. */
  async onApplicationShutdown(): Promise<void> {
    await flushRootLogger(this.root);
  }
}

/**
 * Routes Nest's logging (including what `bufferLogs: true` held back during start-up) through pino. Call it
 * right after `NestFactory.create(..., { bufferLogs: true })`.
 */
export function applyLogger(app: INestApplication): Logger {
  const logger = app.get(Logger);
  app.useLogger(logger); // also replays the buffered lines (autoFlushLogs)
  return logger;
}

/** Flushes and closes the log file; the last step of shutdown, after every application is closed. */
export async function closeLogging(app: INestApplication): Promise<void> {
  await closeRootLogger(app.get<pino.Logger>(ROOT_LOGGER));
}
