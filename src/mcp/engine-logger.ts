/**
 * The little a logger must do for the engine. Nest's `Logger` fits it, so the Nest wrapper passes one; the engine
 * itself stays free of Nest.
 */
export interface EngineLogger {
  debug(message: string, context?: string): void;
  log(message: string, context?: string): void;
  warn(message: string, context?: string): void;
  error(message: string, context?: string): void;
}

/** Drops everything: the default in tests and for embedders that do not care. */
export const silentLogger: EngineLogger = {
  debug: () => undefined,
  log: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};
