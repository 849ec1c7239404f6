import { z } from 'zod';

/**
 * Value parsers shared by the configuration schema. Spring Boot files (which this gateway must load unchanged)
 * write durations as `60s`, `PT1M` or bare milliseconds, sizes as `100MB`, and environment variables make every
 * scalar a string: these parsers accept all of those forms and reject anything else with a readable reason.
 */

export interface KeyMeta {
  description: string;
  /** Masked in every output (docs, --validate-config summary, logs, API). */
  sensitive?: boolean;
  /** The key belongs to the Java edition and has no effect here; `warn` says so at boot when it is set. */
  ignored?: 'silent' | 'warn';
  /** Extra environment variable names bound to this key, besides the relaxed form of its path. */
  envAliases?: string[];
}

const typeLabels = new WeakMap<z.ZodType, string>();

/** Names a value type for the generated docs (`duration`, `size`, ...), which zod's structure alone cannot tell apart. */
function labelled<T extends z.ZodType>(schema: T, label: string): T {
  typeLabels.set(schema, label);
  return schema;
}

/** The label given by one of the parsers below, if `schema` is one (wrappers such as `.default()` are not). */
export const typeLabelOf = (schema: z.ZodType): string | undefined => typeLabels.get(schema);

const DURATION_UNITS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};
const SIZE_UNITS: Record<string, number> = { b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3, tb: 1024 ** 4 };

/** Parses `1500`, `"1500"`, `"60s"`, `"5m"`, `"PT1M30S"` into milliseconds; returns undefined when it cannot. */
export function parseDurationMs(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? value : undefined;
  if (typeof value !== 'string') return undefined;
  const text = value.trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text);
  const simple = /^(\d+(?:\.\d+)?)\s*(ns|us|ms|s|m|h|d)$/i.exec(text);
  if (simple) return Number(simple[1]) * (DURATION_UNITS[simple[2]!.toLowerCase()] ?? NaN);
  const iso = /^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$/i.exec(text);
  if (iso && text.length > 1 && !/T$/i.test(text)) {
    const [, d, h, m, s] = iso;
    return ((Number(d ?? 0) * 24 + Number(h ?? 0)) * 60 + Number(m ?? 0)) * 60_000 + Number(s ?? 0) * 1000;
  }
  return undefined;
}

/** Parses `1048576`, `"10MB"`, `"512KB"`, `"3GB"` into bytes; returns undefined when it cannot. */
export function parseSizeBytes(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isInteger(value) && value >= 0 ? value : undefined;
  if (typeof value !== 'string') return undefined;
  const match = /^(\d+(?:\.\d+)?)\s*(b|kb|mb|gb|tb)?$/i.exec(value.trim());
  if (!match) return undefined;
  return Math.round(Number(match[1]) * (SIZE_UNITS[(match[2] ?? 'b').toLowerCase()] ?? NaN));
}

export const duration = () =>
  labelled(
    z.preprocess(
      (v) => parseDurationMs(v) ?? v,
      z.number({ error: 'expected a duration such as 15000 (ms), "60s", "5m" or "PT1M"' }).nonnegative(),
    ),
    'duration',
  );

export const size = () =>
  labelled(
    z.preprocess(
      (v) => parseSizeBytes(v) ?? v,
      z.number({ error: 'expected a size such as 1048576 (bytes), "512KB", "100MB" or "3GB"' }).int().nonnegative(),
    ),
    'size',
  );

export const int = (min = 0, max = Number.MAX_SAFE_INTEGER) =>
  labelled(
    z.preprocess(
      (v) => (typeof v === 'string' && /^-?\d+$/.test(v.trim()) ? Number(v) : v),
      z.number({ error: 'expected a whole number' }).int('expected a whole number').min(min).max(max),
    ),
    max === Number.MAX_SAFE_INTEGER ? `integer ≥ ${min}` : `integer ${min}–${max}`,
  );

export const num = (min = 0) =>
  labelled(
    z.preprocess(
      (v) => (typeof v === 'string' && /^-?\d+(\.\d+)?$/.test(v.trim()) ? Number(v) : v),
      z.number({ error: 'expected a number' }).min(min),
    ),
    `number ≥ ${min}`,
  );

export const port = () => labelled(int(0, 65535), 'port');

export const bool = () =>
  labelled(
    z.preprocess(
      (v) => {
        if (typeof v !== 'string') return v;
        const text = v.trim().toLowerCase();
        if (['true', 'yes', 'on', '1'].includes(text)) return true;
        if (['false', 'no', 'off', '0'].includes(text)) return false;
        return v;
      },
      z.boolean({ error: 'expected true or false' }),
    ),
    'boolean',
  );

/** `"a, b,c"` -> `['a', 'b', 'c']` (the form environment variables and Spring use for lists); other values as they are. */
const splitCommas = (v: unknown): unknown =>
  typeof v === 'string'
    ? v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
    : v;

/** A list that also accepts the comma-separated string form environment variables and Spring use. */
export const stringList = () =>
  labelled(z.preprocess(splitCommas, z.array(z.string({ error: 'expected a string' }))), 'list of strings');

/**
 * A list of strings whose items may be unquoted YAML numbers or booleans (command arguments), also accepted as the
 * comma-separated string an environment variable gives (`MCP_SERVERS_X_ARGS=server.js,--port,3000`).
 */
export const scalarStringList = () => labelled(z.preprocess(splitCommas, z.array(scalarString())), 'list of strings');

/** YAML scalars under string maps (environment, headers) may be written unquoted as numbers or booleans. */
export const scalarString = () =>
  labelled(
    z.preprocess(
      (v) => (typeof v === 'number' || typeof v === 'boolean' ? String(v) : v),
      z.string({ error: 'expected a string' }),
    ),
    'string',
  );

export const meta = <T extends z.ZodType>(schema: T, info: KeyMeta): T =>
  schema.meta(info as unknown as Record<string, unknown>);

/** A key the Java edition had that means nothing here: accepted so the guide's files load, never read. */
export const ignoredSilently = (description: string) =>
  meta(z.unknown().optional(), { description, ignored: 'silent' });
/** The same, with a warning at start: the operator probably expects it to do something. */
export const ignoredWithWarning = (description: string) =>
  meta(z.unknown().optional(), { description, ignored: 'warn' });
