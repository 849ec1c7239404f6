import { createHash } from 'node:crypto';
import { MASK } from 'src/config/mask-secrets';

/** Largest serialized parameters or result stored in full; a larger value keeps a text preview of this size. */
export const MAX_STORED_BYTES = 64 * 1024;

const SECRET_KEY = /pass(word|wd)?|secret|token|api[-_]?key|authorization|credential|private[-_]?key/i;

/**
 * A deep copy with the values of secret-looking keys (password, secret, token, api_key, authorization...) masked.
 * An object or array nested deeper than 64 levels is masked whole: its keys are not looked at (the recursion stays
 * bounded, and a result has no depth limit), so none of it is kept.
 */
export function maskSecretValues(value: unknown, depth = 0): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (depth > 64) return MASK;
  if (Array.isArray(value)) return value.map((item) => maskSecretValues(item, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(value as Record<string, unknown>)) {
    out[key] =
      SECRET_KEY.test(key) && child !== null && child !== undefined ? MASK : maskSecretValues(child, depth + 1);
  }
  return out;
}

/**
 * What PostgreSQL's jsonb refuses although it is valid JSON (the whole row, and with it the request, would fail): the
 * NUL character and lone UTF-16 surrogates, which JSON.stringify writes as `\u0000` and `\udXXX` escapes (a pair is
 * written as is). An even run of backslashes before one is text, not an escape.
 */
const JSONB_UNSAFE_ESCAPE = /(?<!\\)((?:\\\\)*)\\u(?:0000|d[89a-f][0-9a-f]{2})/gi;

/** A JSON value as jsonb can hold it: NUL and lone surrogates (keys and values, any depth) become U+FFFD. */
export function jsonbSafe<T>(value: T): T {
  return jsonbSafeWithText(value).value;
}

/** {@link jsonbSafe}, and the value's JSON text; the value itself when it holds nothing to replace. */
function jsonbSafeWithText<T>(value: T): { value: T; text: string } {
  const text = JSON.stringify(value) ?? 'null';
  const safe = text.replace(JSONB_UNSAFE_ESCAPE, '$1\\ufffd');
  return safe === text ? { value, text } : { value: JSON.parse(safe) as T, text: safe };
}

/**
 * Masked, then capped: `{ value, truncated }` where a value over the cap becomes a string preview. NUL characters and
 * lone surrogates (in keys and values, at any depth) are stored as U+FFFD, which jsonb can hold.
 */
export function storable(value: unknown): { value: unknown; truncated: boolean } {
  if (value === undefined) return { value: null, truncated: false };
  const { value: masked, text } = jsonbSafeWithText(maskSecretValues(value));
  if (Buffer.byteLength(text) <= MAX_STORED_BYTES) return { value: masked, truncated: false };
  return { value: Buffer.from(text).subarray(0, MAX_STORED_BYTES).toString('utf8'), truncated: true };
}

function canonical(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
}

/** SHA-256 of what a call asks for (tool, server as named, parameters with keys in order): idempotency's match. */
export function requestHash(toolName: string, serverId: string | undefined, parameters: unknown): string {
  return createHash('sha256')
    .update(canonical({ tool: toolName, server_id: serverId ?? null, parameters }))
    .digest('hex');
}
