import type { LevelWithSilent } from 'pino';

/** pino's numeric levels; `silent` (Logback's OFF) is above everything. */
export const LEVEL_VALUES: Record<LevelWithSilent, number> = {
  trace: 10,
  debug: 20,
  info: 30,
  warn: 40,
  error: 50,
  fatal: 60,
  silent: Infinity,
};

const LOGBACK_TO_PINO: Record<string, LevelWithSilent> = {
  all: 'trace',
  trace: 'trace',
  debug: 'debug',
  info: 'info',
  warn: 'warn',
  warning: 'warn',
  error: 'error',
  fatal: 'fatal',
  off: 'silent',
  silent: 'silent',
  // Nest's names, for those who write the level they see in code.
  verbose: 'trace',
  log: 'info',
};

export interface LevelPlan {
  /** Level of records without a context, or with a context that has no entry of its own. */
  root: LevelWithSilent;
  /** Per-context thresholds from `logging.level.<Context>` (numeric pino levels). */
  contexts: ReadonlyMap<string, number>;
  /** The lowest level any context may log at: the pino logger's own level. */
  minimum: LevelWithSilent;
  /** Entries that could not be understood, to be logged once the logger exists. */
  warnings: string[];
}

/** Parses a Spring/Logback level name (case-insensitive); undefined when it is not one. */
export function parseLevel(value: unknown): LevelWithSilent | undefined {
  if (typeof value === 'boolean' && value === false) return 'silent'; // YAML 1.1 reads a bare OFF as false
  if (typeof value !== 'string') return undefined;
  return LOGBACK_TO_PINO[value.trim().toLowerCase()];
}

/**
 * Turns `logging.level` into what the logger needs. `root` sets the default (INFO when absent); every other key
 * is a Nest context name (`McpEngine`, `HttpRequest`, ...). Java package names such as `com.deepai.mcpclient`
 * are accepted and simply match no context.
 */
export function planLevels(levels: Readonly<Record<string, unknown>>): LevelPlan {
  let root: LevelWithSilent = 'info';
  const contexts = new Map<string, number>();
  const warnings: string[] = [];
  for (const [key, raw] of Object.entries(levels)) {
    const level = parseLevel(raw);
    if (!level) {
      warnings.push(
        `logging.level.${key}: "${String(raw)}" is not a level (TRACE, DEBUG, INFO, WARN, ERROR, FATAL, OFF); ignored`,
      );
      continue;
    }
    if (key.toLowerCase() === 'root') root = level;
    else contexts.set(key, LEVEL_VALUES[level]);
  }
  let minimumValue = LEVEL_VALUES[root];
  for (const value of contexts.values()) minimumValue = Math.min(minimumValue, value);
  const minimum =
    (Object.keys(LEVEL_VALUES) as LevelWithSilent[]).find((name) => LEVEL_VALUES[name] === minimumValue) ?? root;
  return { root, contexts, minimum, warnings };
}

/** The threshold a record of `context` must reach. */
export function thresholdFor(plan: LevelPlan, context: unknown): number {
  if (typeof context === 'string') {
    const own = plan.contexts.get(context);
    if (own !== undefined) return own;
  }
  return LEVEL_VALUES[plan.root];
}
