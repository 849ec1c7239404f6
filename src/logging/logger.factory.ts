import { join } from 'node:path';
import pino from 'pino';
import type { AppConfig } from 'src/config/config.schema';
import { compileLogbackPattern } from './logback-pattern';
import { type LevelPlan, planLevels, thresholdFor } from './log-levels';
import { ConsoleSink, LogDestination, type LogSink, type LogTarget, RollingFileSink } from './log-sinks';
import { traceLogFields } from './trace-log-fields';

/** The deployment guide's production layout, used when `logging.format` is `text` and no pattern is set. */
export const DEFAULT_TEXT_PATTERN = '%d{yyyy-MM-dd HH:mm:ss.SSS} [%thread] %-5level %logger{36} - %msg%n';

/** Spring's `logging.file.path` without a name writes `spring.log`; ours is named after the product. */
export const DEFAULT_LOG_FILE_NAME = 'globalmcp.log';

/** Request and config fields that must never reach a log line. */
export const REDACTED_PATHS: readonly string[] = [
  'req.headers.authorization',
  'req.headers["x-api-key"]',
  'req.headers.cookie',
  'req.headers["proxy-authorization"]',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'headers["x-api-key"]',
  'headers.cookie',
  'password',
  'secret',
  'token',
  '*.password',
  '*.secret',
  '*.token',
];

export interface RootLoggerOptions {
  /** Where console lines go; stdout unless a test captures them. */
  console?: LogTarget;
  /** Reports problems with the log file; stderr by default. */
  onFileError?: (message: string) => void;
}

const destinations = new WeakMap<pino.Logger, LogDestination>();

/**
 * Builds the one pino logger of the process from `logging.*`:
 * - console: JSON lines (`time` ISO-8601, `level` as a word, `msg`, `context`, `requestId` inside a request) by
 *   default; the `logging.pattern.console` layout when that is set or `logging.format` is `text`;
 * - file (`logging.file.name`, or `logging.file.path` + `globalmcp.log`): the `logging.pattern.file` layout,
 *   else the console's, rotated by size with a bounded history (`logging.logback.rollingpolicy.*`);
 * - levels: `logging.level.root` plus per-context entries keyed by Nest context name (`McpEngine: DEBUG`);
 * - secrets in headers and `password`/`secret`/`token` fields are redacted;
 * - with `management.tracing.enabled`, `trace_id` and `span_id` of the active trace (see trace-log-fields.ts).
 *
 * Close it with {@link closeRootLogger} after the application has stopped.
 */
export function createRootLogger(config: AppConfig, options: RootLoggerOptions = {}): pino.Logger {
  const logging = config.logging;
  const plan = planLevels(logging.level);

  const consolePattern = logging.pattern.console ?? (logging.format === 'text' ? DEFAULT_TEXT_PATTERN : undefined);
  const consoleLayout = consolePattern ? compileLogbackPattern(consolePattern) : undefined;
  // stdout batches the lines of one event-loop turn into one write (see ConsoleSink); a test's target sees each line.
  const sinks: LogSink[] = [
    options.console
      ? new ConsoleSink(options.console, consoleLayout)
      : new ConsoleSink(pino.destination({ dest: process.stdout.fd || 1, sync: false }), consoleLayout, true),
  ];

  const file = logFilePath(config);
  if (file) {
    const filePattern = logging.pattern.file ?? consolePattern;
    const policy = logging.logback.rollingpolicy;
    sinks.push(
      new RollingFileSink({
        file,
        maxFileSize: policy.maxFileSize,
        maxFiles: filesKept(policy.maxFileSize, policy.maxHistory, policy.totalSizeCap),
        layout: filePattern ? compileLogbackPattern(filePattern) : undefined,
        onError: options.onFileError,
      }),
    );
  }

  const destination = new LogDestination(sinks);
  const logger = pino(
    {
      level: plan.minimum,
      base: undefined,
      timestamp: isoTimeOfRecord,
      formatters: { level: (label) => ({ level: label.toUpperCase() }) },
      redact: { paths: [...REDACTED_PATHS], censor: '[REDACTED]' },
      hooks: { logMethod: contextLevels(plan) },
      // `trace_id`/`span_id` of the active trace; with tracing off, no per-line cost at all.
      ...(config.management.tracing.enabled ? { mixin: traceLogFields } : {}),
    },
    destination,
  );
  destinations.set(logger, destination);
  for (const warning of plan.warnings) logger.warn({ context: 'LoggingModule' }, warning);
  return logger;
}

/** Writes out what the sinks still hold; the logger stays usable. */
export async function flushRootLogger(logger: pino.Logger): Promise<void> {
  await destinations.get(logger)?.flushAll();
}

/**
 * Flushes and closes the log file (stdout is flushed, not closed). Lines logged afterwards still reach the
 * console but no longer the file. Call it last, after `app.close()`.
 */
export async function closeRootLogger(logger: pino.Logger): Promise<void> {
  const destination = destinations.get(logger);
  if (!destination) return;
  destinations.delete(logger);
  await destination.close();
}

/** `logging.file.name`, else `logging.file.path/globalmcp.log`, else no file. */
export function logFilePath(config: AppConfig): string | undefined {
  const { name, path } = config.logging.file;
  if (name) return name;
  if (path) return join(path, DEFAULT_LOG_FILE_NAME);
  return undefined;
}

/**
 * Files kept in all (the active one included): `maxHistory` rotated files plus the active one, lowered so that
 * files × `maxFileSize` stays within `totalSizeCap`. A `maxHistory` of 0 keeps every file, as in Logback, unless
 * a cap bounds it. Undefined: no limit.
 */
export function filesKept(
  maxFileSize: number,
  maxHistory: number,
  totalSizeCap: number | undefined,
): number | undefined {
  let kept = maxHistory > 0 ? maxHistory + 1 : undefined;
  if (totalSizeCap !== undefined && maxFileSize > 0) {
    const byCap = Math.max(1, Math.floor(totalSizeCap / maxFileSize));
    kept = kept === undefined ? byCap : Math.min(kept, byCap);
  }
  return kept;
}

/** Set while a line kept from before the logger existed is written: its own time instead of now. */
let timeOfReplayedRecord: number | undefined;

/** pino's ISO `time`, or the time a replayed line was originally logged (see {@link logAt}). */
function isoTimeOfRecord(): string {
  return `,"time":"${new Date(timeOfReplayedRecord ?? Date.now()).toISOString()}"`;
}

/** Runs `write` (synchronous logging) so that its records carry `time` instead of the current time. */
export function logAt<T>(time: number, write: () => T): T {
  timeOfReplayedRecord = time;
  try {
    return write();
  } finally {
    timeOfReplayedRecord = undefined;
  }
}

/**
 * Nest's route-mapping lines (one per controller and per route, at every start): INFO in Nest, DEBUG here, so a start
 * reads as what happened rather than as a route table (`logging.level.RouterExplorer: DEBUG` shows them again).
 */
const ROUTE_MAPPING_CONTEXTS = new Set(['RoutesResolver', 'RouterExplorer']);
const INFO = 30;
const DEBUG = 20;

/**
 * The pino logger runs at the lowest level any context asks for; this drops records below the level of their
 * own context (the `context` field nestjs-pino adds, or a child logger's binding), else below `root`, and writes
 * Nest's route-mapping lines at DEBUG.
 */
function contextLevels(plan: LevelPlan): NonNullable<pino.LoggerOptions['hooks']>['logMethod'] {
  return function (this: pino.Logger, args, method, level) {
    const first: unknown = args[0];
    let context = first !== null && typeof first === 'object' ? (first as { context?: unknown }).context : undefined;
    if (context === undefined && plan.contexts.size > 0) context = (this.bindings() as { context?: unknown }).context;
    if (level === INFO && typeof context === 'string' && ROUTE_MAPPING_CONTEXTS.has(context)) {
      if (DEBUG >= thresholdFor(plan, context)) Reflect.apply(this.debug, this, args);
      return;
    }
    if (plan.contexts.size > 0 && level < thresholdFor(plan, context)) return;
    method.apply(this, args);
  };
}
