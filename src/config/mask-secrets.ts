import type { z } from 'zod';
import { appConfigSchema } from './config.schema';
import { matchKey, metaOf, nodeOf } from './schema-walker';

/** What every secret is shown as: in the docs, the `--validate-config` summary, logs and API responses. */
export const MASK = '***';

/** Maps whose values are secrets whatever the schema says (server `environment` and `headers`). */
const SECRET_MAPS = new Set(['environment', 'headers']);

// `scheme://user:password@` (also `jdbc:postgresql://` and `redis://:password@`).
const URL_CREDENTIALS = /\b([a-z][a-z0-9+.-]*:(?:[a-z][a-z0-9+.-]*:)?\/\/)([^\s:@/?#]*):([^\s@/?#]+)@/gi;
// `?password=...` and the like in JDBC and connection-string query parameters.
const SECRET_PARAMS =
  /([?&;](?:password|passwd|pwd|secret|token|access[-_]?token|api[-_]?key|sslpassword)=)[^&;\s#]*/gi;

/** Masks the password of every URL in a string: `postgres://app:s3cret@db/x` becomes `postgres://app:***@db/x`. */
export function maskUrl(text: string): string {
  return text
    .replace(URL_CREDENTIALS, (_match, scheme: string, user: string) => `${scheme}${user}:${MASK}@`)
    .replace(SECRET_PARAMS, `$1${MASK}`);
}

type Tree = Record<string, unknown>;
const isTree = (value: unknown): value is Tree => typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * A deep copy of a configuration (or any slice of it, given the slice's schema) that is safe to print: every key
 * declared `sensitive` in the schema holds `***` (a sensitive map keeps its keys, each value `***`), every value of
 * an `environment` or `headers` map is `***`, and passwords inside URLs are masked. Unset secrets stay unset, so
 * the output still says which secrets are configured.
 */
export function maskSecrets<T>(config: T, schema: z.ZodType = appConfigSchema): T {
  return maskValue(config, schema, false) as T;
}

function maskValue(value: unknown, schema: z.ZodType | undefined, sensitive: boolean): unknown {
  if (value === undefined || value === null) return value;
  if (sensitive) return isTree(value) ? Object.fromEntries(Object.keys(value).map((k) => [k, MASK])) : MASK;
  if (typeof value === 'string') return maskUrl(value);
  if (Array.isArray(value)) return value.map((item) => maskValue(item, undefined, false));
  if (!isTree(value)) return value;

  const node = schema ? nodeOf(schema) : undefined;
  const out: Tree = {};
  for (const [key, child] of Object.entries(value)) {
    let childSchema: z.ZodType | undefined;
    if (node?.kind === 'object') {
      const match = matchKey(node.shape, key);
      childSchema = match === undefined ? undefined : node.shape[match];
    } else if (node?.kind === 'record') {
      childSchema = node.value;
    }
    const childSensitive =
      Boolean(childSchema && metaOf(childSchema)?.sensitive) || (SECRET_MAPS.has(key) && isTree(child));
    out[key] = maskValue(child, childSchema, childSensitive);
  }
  return out;
}
