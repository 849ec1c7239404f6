import { ExitCode, CliError } from './exit-codes';

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

const NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;

/**
 * A `key=value` value as the tool most likely means it: `true`/`false`, `null`, a JSON number, or a JSON object,
 * array or quoted string (`{"a":1}`, `[1,2]`, `"42"` for the string 42); anything else is the string as written.
 */
export function typedValue(raw: string): JsonValue {
  if (raw === 'true') return true;
  if (raw === 'false') return false;
  if (raw === 'null') return null;
  if (NUMBER.test(raw)) return Number(raw);
  const first = raw.trimStart()[0];
  if (first === '{' || first === '[' || first === '"') {
    try {
      return JSON.parse(raw) as JsonValue;
    } catch (error) {
      throw new CliError(ExitCode.usage, `not valid JSON: ${raw} (${(error as Error).message})`);
    }
  }
  return raw;
}

/** `key=value …` → an arguments object; a pair without `=`, an empty key or a key given twice is a usage error. */
export function parseKeyValues(pairs: readonly string[]): Record<string, JsonValue> {
  const result: Record<string, JsonValue> = {};
  for (const pair of pairs) {
    const at = pair.indexOf('=');
    if (at <= 0) throw new CliError(ExitCode.usage, `expected key=value, got "${pair}"`);
    const key = pair.slice(0, at);
    if (Object.hasOwn(result, key)) throw new CliError(ExitCode.usage, `"${key}" is given twice`);
    // defineProperty, not assignment: `__proto__=…` is an argument name like any other, not the prototype.
    Object.defineProperty(result, key, {
      value: typedValue(pair.slice(at + 1)),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return result;
}

/** `a,b, c` → `['a','b','c']`; undefined stays undefined. */
export function commaList(value: string | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  return value
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item.length > 0);
}

/** A positive integer option (`--limit`, `--timeout`), or a usage error naming it. */
export function positiveInt(name: string): (value: string) => number {
  return (value) => {
    if (!/^[1-9]\d*$/.test(value))
      throw new CliError(ExitCode.usage, `${name} must be a positive integer, got "${value}"`);
    return Number(value);
  };
}
