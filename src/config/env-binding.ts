import type { z } from 'zod';
import { appConfigSchema } from './config.schema';
import { getPath, isTree, setPath, type Tree } from './config-tree';
import { envForm, envNamesOf, listKeys, nodeOf } from './schema-walker';

export interface EnvBinding {
  tree: Tree;
  used: string[];
}

/**
 * Binds environment variables to keys the way Spring does: `MCP_CLIENT_DEFAULT_TIMEOUT` (and the dashless
 * `MCP_CLIENT_DEFAULTTIMEOUT`) set `mcp.client.default-timeout`; `MCP_SERVERS_<ID>_<FIELD>` and
 * `LOGGING_LEVEL_<NAME>` fill maps; declared aliases (`DATABASE_URL`, `JWT_SECRET`, ...) apply below the
 * canonical names.
 */
export function bindEnvironment(env: NodeJS.ProcessEnv, fileTree: Tree): EnvBinding {
  const tree: Tree = {};
  const used: string[] = [];

  for (const key of listKeys(appConfigSchema)) {
    if (key.meta?.ignored) continue;
    const node = nodeOf(key.schema);
    // A free-form object (`info`) has no single value a variable could give.
    if (node.kind === 'object') continue;
    if (node.kind === 'record') {
      bindMap(env, key.path, key.schema, fileTree, tree, used);
      continue;
    }
    const name = envNamesOf(key).find((n) => env[n] !== undefined && env[n] !== '');
    if (name) {
      setPath(tree, key.path, env[name]);
      used.push(name);
    }
  }
  return { tree, used };
}

/** Finds the key of an existing map entry that an environment variable's upper-case segment means. */
const existingKey = (keys: string[], envSegment: string) =>
  keys.find((k) => envForm([k], false) === envSegment || envForm([k], true) === envSegment);

function bindMap(
  env: NodeJS.ProcessEnv,
  mapPath: string[],
  mapSchema: z.ZodType,
  fileTree: Tree,
  tree: Tree,
  used: string[],
) {
  const node = nodeOf(mapSchema);
  if (node.kind !== 'record') return;
  const prefixes = [...new Set([envForm(mapPath, false), envForm(mapPath, true)])].map((p) => `${p}_`);
  const existing = getPath(fileTree, mapPath);
  const existingKeys = isTree(existing) ? Object.keys(existing) : [];
  const valueNode = nodeOf(node.value);
  const fields = valueNode.kind === 'object' ? listKeys(node.value) : [];

  for (const [name, raw] of Object.entries(env).sort(([a], [b]) => a.localeCompare(b))) {
    const prefix = prefixes.find((p) => name.startsWith(p));
    if (!prefix || raw === undefined || raw === '') continue;
    const rest = name.slice(prefix.length);
    if (valueNode.kind !== 'object') {
      // Map of scalars (logging.level.root): the rest names the key; Spring lower-cases it.
      const mapKey = existingKey(existingKeys, rest) ?? rest.toLowerCase();
      setPath(tree, [...mapPath, mapKey], raw);
      used.push(name);
      continue;
    }
    // Map of objects (mcp.servers.<id>.<field>[.<map key>]): every way of splitting the name into id and field.
    const candidates: { idPart: string; field: (typeof fields)[number]; subKey?: string }[] = [];
    for (const field of fields) {
      const isMap = nodeOf(field.schema).kind === 'record';
      for (const form of new Set([envForm(field.path, false), envForm(field.path, true)])) {
        const marker = `_${form}`;
        if (isMap) {
          for (let at = rest.indexOf(`${marker}_`); at > 0; at = rest.indexOf(`${marker}_`, at + 1)) {
            candidates.push({ idPart: rest.slice(0, at), field, subKey: rest.slice(at + marker.length + 1) });
          }
        } else if (rest.endsWith(marker) && rest.length > marker.length) {
          candidates.push({ idPart: rest.slice(0, rest.length - marker.length), field });
        }
      }
    }
    // An id the files already use wins; otherwise the shortest id, so `MCP_SERVERS_API_HEADERS_CONTENT_TYPE` is the
    // header `Content-Type` of server `api`, not the type of a server `api-headers-content`.
    candidates.sort(
      (a, b) =>
        Number(!existingKey(existingKeys, a.idPart)) - Number(!existingKey(existingKeys, b.idPart)) ||
        a.idPart.length - b.idPart.length,
    );
    const best = candidates[0];
    if (!best) continue;
    const id = existingKey(existingKeys, best.idPart) ?? best.idPart.toLowerCase().replace(/_/g, '-');
    let target = [...mapPath, id, ...best.field.path];
    if (best.subKey !== undefined) {
      const current = getPath(fileTree, target);
      const subKeys = isTree(current) ? Object.keys(current) : [];
      // Header names cannot contain `-` in a variable name: `X_API_KEY` means `X-API-KEY`. Environment keys stay as written.
      const subKey =
        existingKey(subKeys, best.subKey) ??
        (best.field.path.at(-1) === 'headers' ? best.subKey.replace(/_/g, '-') : best.subKey);
      target = [...target, subKey];
    }
    setPath(tree, target, raw);
    used.push(name);
  }
}
