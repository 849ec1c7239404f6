import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { appConfigSchema, type AppConfig } from './config.schema';
import { displayPath, listKeys, matchKey, metaOf, nodeOf, toCamel } from './schema-walker';

/**
 * Builds the one validated, frozen configuration from, lowest to highest precedence: the schema's defaults, the
 * config file(s), the profile files, then environment variables. Mirrors Spring Boot's rules closely enough that
 * the deployment guide's files and variables work unchanged.
 */

export interface ConfigIssue {
  path: string;
  message: string;
}

export class ConfigError extends Error {
  constructor(
    readonly issues: ConfigIssue[],
    readonly sources: string[],
  ) {
    super(`Invalid configuration:\n${issues.map((i) => `  - ${i.path}: ${i.message}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

export interface LoadedConfig {
  config: AppConfig;
  /** Files read, in the order applied. */
  sources: string[];
  profiles: string[];
  warnings: string[];
  /** Environment variables that set a key. */
  environmentKeys: string[];
  /** Directory of the last base config file: relative paths in the config (key stores) resolve against it. */
  configDir: string;
}

export interface LoadOptions {
  /** `--config` value(s): comma-separated list of files. */
  configFiles?: string;
  env?: NodeJS.ProcessEnv;
  /** Where `config/application.yml` is looked up when no file is named. */
  appRoot?: string;
}

type Tree = Record<string, unknown>;

const isTree = (value: unknown): value is Tree => typeof value === 'object' && value !== null && !Array.isArray(value);

export const DEFAULT_APP_ROOT = path.resolve(__dirname, '..', '..', '..');

export function loadConfig(options: LoadOptions = {}): LoadedConfig {
  const env = options.env ?? process.env;
  const appRoot = options.appRoot ?? DEFAULT_APP_ROOT;
  const warnings: string[] = [];
  const unknownKeys: string[] = [];
  const unresolved = new Set<string>();
  const sources: string[] = [];

  const readLayer = (file: string): Tree => {
    sources.push(file);
    const raw = parseYamlFile(file);
    return normalize(appConfigSchema, interpolate(raw, env, unresolved) as Tree, [], unknownKeys, file);
  };

  const baseFiles = resolveBaseFiles(options.configFiles, env, appRoot);
  let merged: Tree = {};
  for (const file of baseFiles) merged = deepMerge(merged, readLayer(file));

  const profiles = resolveProfiles(env, merged);
  for (const profile of profiles) {
    for (const base of baseFiles) {
      const profileFile = profileFileFor(base, profile);
      if (profileFile && !sources.includes(profileFile)) merged = deepMerge(merged, readLayer(profileFile));
    }
  }

  const fromEnv = bindEnvironment(env, merged);
  merged = deepMerge(merged, fromEnv.tree);

  const parsed = appConfigSchema.safeParse(merged);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((issue) => ({
      path: displayPath(appConfigSchema, issue.path) || '(root)',
      message: issue.message,
    }));
    throw new ConfigError(issues, sources);
  }

  if (unknownKeys.length > 0) {
    warnings.push(`Unknown configuration keys ignored: ${[...new Set(unknownKeys)].join(', ')}`);
  }
  if (unresolved.size > 0) {
    warnings.push(`Placeholders with no environment variable and no default were left unset: ${[...unresolved].map((v) => `\${${v}}`).join(', ')}`);
  }
  warnings.push(...semanticWarnings(merged, parsed.data));

  const configDir = baseFiles.length > 0 ? path.dirname(baseFiles[baseFiles.length - 1]!) : path.join(appRoot, 'config');
  return {
    config: deepFreeze(parsed.data),
    sources,
    profiles,
    warnings,
    environmentKeys: fromEnv.used,
    configDir,
  };
}

// ---------------------------------------------------------------------------------------------------- files

function resolveBaseFiles(cliValue: string | undefined, env: NodeJS.ProcessEnv, appRoot: string): string[] {
  const named = cliValue ?? env.GLOBALMCP_CONFIG ?? env.SPRING_CONFIG_LOCATION;
  if (named === undefined || named.trim() === '') {
    const fallback = path.join(appRoot, 'config', 'application.yml');
    return existsSync(fallback) ? [fallback] : [];
  }
  const files: string[] = [];
  for (let entry of named.split(',').map((s) => s.trim()).filter(Boolean)) {
    const optional = entry.startsWith('optional:');
    if (optional) entry = entry.slice('optional:'.length);
    entry = entry.replace(/^(file|classpath):/, '');
    const absolute = path.resolve(entry);
    if (existsSync(absolute) && statSync(absolute).isDirectory()) {
      // Spring's directory locations: application.yml (or .yaml) inside it.
      const inDir = ['application.yml', 'application.yaml'].map((n) => path.join(absolute, n)).find((f) => existsSync(f));
      if (inDir) files.push(inDir);
      else if (!optional) throw new ConfigError([{ path: '(config location)', message: `no application.yml in directory ${absolute}` }], []);
    } else if (existsSync(absolute)) {
      files.push(absolute);
    } else if (!optional) {
      throw new ConfigError([{ path: '(config location)', message: `config file not found: ${absolute}` }], []);
    }
  }
  return files;
}

function profileFileFor(base: string, profile: string): string | undefined {
  const dir = path.dirname(base);
  const stem = path.basename(base).replace(/\.(ya?ml)$/i, '');
  return [`${stem}-${profile}.yml`, `${stem}-${profile}.yaml`].map((n) => path.join(dir, n)).find((f) => existsSync(f));
}

function resolveProfiles(env: NodeJS.ProcessEnv, merged: Tree): string[] {
  const fromEnv = env.GLOBALMCP_PROFILES ?? env.SPRING_PROFILES_ACTIVE;
  const spring = isTree(merged.spring) && isTree(merged.spring.profiles) ? merged.spring.profiles : {};
  const asList = (v: unknown): string[] =>
    (Array.isArray(v) ? v.map(String) : typeof v === 'string' ? v.split(',') : []).map((s) => s.trim()).filter(Boolean);
  const active = fromEnv !== undefined && fromEnv.trim() !== '' ? asList(fromEnv) : asList(spring.active);
  return [...new Set([...asList(spring.include), ...active])];
}

function parseYamlFile(file: string): Tree {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError([{ path: '(file)', message: `cannot read ${file}: ${(error as Error).message}` }], [file]);
  }
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      doc.errors.map((e) => ({ path: `(yaml ${path.basename(file)}:${e.linePos?.[0]?.line ?? '?'})`, message: e.message.split('\n')[0] ?? e.message })),
      [file],
    );
  }
  const value: unknown = doc.toJS({ maxAliasCount: 100 });
  if (value === null || value === undefined) return {};
  if (!isTree(value)) throw new ConfigError([{ path: '(root)', message: `${file} must hold a mapping of keys` }], [file]);
  return value;
}

// ------------------------------------------------------------------------------------------- interpolation

const PLACEHOLDER = /\$\{([A-Za-z_][A-Za-z0-9_.-]*)(?::([^}]*))?\}/g;

/** Expands `${VAR}` and `${VAR:default}` in string values. A lone unresolved placeholder leaves the key unset. */
function interpolate(value: unknown, env: NodeJS.ProcessEnv, unresolved: Set<string>): unknown {
  if (typeof value === 'string') {
    let missing = false;
    const expanded = value.replace(PLACEHOLDER, (_match, name: string, fallback: string | undefined) => {
      const found = env[name] ?? env[name.replace(/[.-]/g, '_').toUpperCase()];
      if (found !== undefined) return found;
      if (fallback !== undefined) return fallback;
      unresolved.add(name);
      missing = true;
      return '';
    });
    return missing && expanded.trim() === '' ? undefined : expanded;
  }
  if (Array.isArray(value)) return value.map((v) => interpolate(v, env, unresolved));
  if (isTree(value)) {
    const out: Tree = {};
    for (const [k, v] of Object.entries(value)) {
      const expanded = interpolate(v, env, unresolved);
      if (expanded !== undefined) out[k] = expanded;
    }
    return out;
  }
  return value;
}

// --------------------------------------------------------------------------------- relaxed key normalisation

/**
 * Rewrites a file's keys into the schema's camelCase keys (relaxed binding), keeps user-chosen map keys as
 * written, and collects keys the schema does not know.
 */
function normalize(schema: z.ZodType, value: Tree, prefix: string[], unknown: string[], file: string): Tree {
  const node = nodeOf(schema);
  const out: Tree = {};
  for (const [key, child] of Object.entries(value)) {
    if (node.kind === 'object') {
      const match = matchKey(node.shape, key);
      if (match === undefined) {
        if (!node.loose) unknown.push([...prefix, key].join('.'));
        if (node.loose) out[key] = child;
        continue;
      }
      const childSchema = node.shape[match]!;
      const childNode = nodeOf(childSchema);
      out[match] = isTree(child) && childNode.kind !== 'leaf' && !metaOf(childSchema)?.ignored
        ? normalize(childSchema, child, [...prefix, key], unknown, file)
        : child;
    } else if (node.kind === 'record') {
      const valueNode = nodeOf(node.value);
      out[key] = isTree(child) && valueNode.kind !== 'leaf' ? normalize(node.value, child, [...prefix, key], unknown, file) : child;
    } else {
      out[key] = child;
    }
  }
  // Aliases Spring users reach for on stdio servers.
  if (prefix.length === 3 && prefix[0] === 'mcp' && prefix[1] === 'servers') {
    for (const alias of ['workingDir', 'working_dir', 'working-dir', 'cwd']) {
      if (alias in value && out.workingDirectory === undefined) {
        out.workingDirectory = value[alias];
        const index = unknown.lastIndexOf([...prefix, alias].join('.'));
        if (index >= 0) unknown.splice(index, 1);
      }
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------- environment binding

const envForm = (segments: string[], dashless: boolean) =>
  segments.map((s) => (dashless ? s.toUpperCase() : s.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase())).join('_');

interface EnvBinding {
  tree: Tree;
  used: string[];
}

/**
 * Binds environment variables to keys the way Spring does: `MCP_CLIENT_DEFAULT_TIMEOUT` (and the dashless
 * `MCP_CLIENT_DEFAULTTIMEOUT`) set `mcp.client.default-timeout`; `MCP_SERVERS_<ID>_<FIELD>` and
 * `LOGGING_LEVEL_<NAME>` fill maps; declared aliases (`DATABASE_URL`, `JWT_SECRET`, ...) apply below the
 * canonical names.
 */
function bindEnvironment(env: NodeJS.ProcessEnv, fileTree: Tree): EnvBinding {
  const tree: Tree = {};
  const used: string[] = [];
  const keys = listKeys(appConfigSchema);

  for (const key of keys) {
    if (key.meta?.ignored) continue;
    const node = nodeOf(key.schema);
    const names = [envForm(key.path, false), envForm(key.path, true), ...(key.meta?.envAliases ?? [])];
    if (node.kind === 'record') {
      bindMap(env, key.path, names[0]!, key.schema, fileTree, tree, used);
      continue;
    }
    const name = names.find((n) => env[n] !== undefined && env[n] !== '');
    if (name) {
      setPath(tree, key.path, env[name]);
      used.push(name);
    }
  }
  return { tree, used };
}

function bindMap(env: NodeJS.ProcessEnv, mapPath: string[], envPrefix: string, mapSchema: z.ZodType, fileTree: Tree, tree: Tree, used: string[]) {
  const node = nodeOf(mapSchema);
  if (node.kind !== 'record') return;
  const prefix = `${envPrefix}_`;
  const existing = getPath(fileTree, mapPath);
  const existingKeys = isTree(existing) ? Object.keys(existing) : [];
  const valueNode = nodeOf(node.value);

  for (const [name, raw] of Object.entries(env)) {
    if (!name.startsWith(prefix) || raw === undefined || raw === '') continue;
    const rest = name.slice(prefix.length);
    if (valueNode.kind !== 'object') {
      // Map of scalars (logging.level.root): the rest names the key; Spring lower-cases it.
      const mapKey = existingKeys.find((k) => envForm([k.replace(/[.-]/g, '_')], true) === rest) ?? rest.toLowerCase();
      setPath(tree, [...mapPath, mapKey], raw);
      used.push(name);
      continue;
    }
    // Map of objects (mcp.servers.<id>.<field>): find the longest field suffix the entry schema knows.
    const fields = listKeys(node.value);
    for (const field of fields.sort((a, b) => b.path.length - a.path.length)) {
      const fieldNode = nodeOf(field.schema);
      for (const form of [envForm(field.path, false), envForm(field.path, true)]) {
        const marker = `_${form}`;
        let idPart: string | undefined;
        let subKey: string | undefined;
        if (fieldNode.kind === 'record') {
          const at = rest.indexOf(`${marker}_`);
          if (at > 0) {
            idPart = rest.slice(0, at);
            subKey = rest.slice(at + marker.length + 1);
          }
        } else if (rest.endsWith(marker) && rest.length > marker.length) {
          idPart = rest.slice(0, rest.length - marker.length);
        }
        if (idPart === undefined) continue;
        const id = existingKeys.find((k) => k.replace(/[.-]/g, '_').toUpperCase() === idPart) ?? idPart.toLowerCase().replace(/_/g, '-');
        setPath(tree, subKey ? [...mapPath, id, ...field.path, subKey] : [...mapPath, id, ...field.path], raw);
        used.push(name);
        break;
      }
      if (used[used.length - 1] === name) break;
    }
  }
}

// ------------------------------------------------------------------------------------------------ warnings

function semanticWarnings(merged: Tree, config: AppConfig): string[] {
  const warnings: string[] = [];
  const get = (p: string[]) => getPath(merged, p);

  for (const key of listKeys(appConfigSchema)) {
    if (key.meta?.ignored === 'warn' && get(key.path) !== undefined) {
      warnings.push(`${key.display} is set but has no effect here: ${key.meta.description}`);
    }
  }
  const ddl = get(['spring', 'jpa', 'hibernate', 'ddl-auto']) ?? get(['spring', 'jpa', 'hibernate', 'ddlAuto']);
  if (typeof ddl === 'string' && !['validate', 'none'].includes(ddl)) {
    warnings.push(`spring.jpa.hibernate.ddl-auto=${ddl} has no effect: the schema is changed only by migrations (it is never dropped or created from entities)`);
  }
  const vault = get(['spring', 'cloud', 'vault', 'enabled']);
  if (vault === true || vault === 'true') {
    warnings.push('spring.cloud.vault.enabled=true has no effect: Vault is not read directly; inject secrets as environment variables (e.g. Vault Agent) and reference them with ${VAR}');
  }
  const cacheType = config.spring.cache.type?.toLowerCase();
  if (cacheType === 'redis' && !config.spring.data.redis.host && !config.spring.data.redis.url) {
    warnings.push('spring.cache.type=redis but no Redis is configured (spring.data.redis.host or REDIS_URL): caching in memory');
  }
  return warnings;
}

// ---------------------------------------------------------------------------------------------------- trees

export function deepMerge(base: Tree, override: Tree): Tree {
  const out: Tree = { ...base };
  for (const [key, value] of Object.entries(override)) {
    const current = out[key];
    out[key] = isTree(current) && isTree(value) ? deepMerge(current, value) : value;
  }
  return out;
}

function setPath(tree: Tree, keys: string[], value: unknown) {
  let node = tree;
  keys.forEach((key, index) => {
    if (index === keys.length - 1) {
      node[key] = value;
      return;
    }
    if (!isTree(node[key])) node[key] = {};
    node = node[key] as Tree;
  });
}

function getPath(tree: Tree, keys: string[]): unknown {
  let node: unknown = tree;
  for (const key of keys) {
    if (!isTree(node)) return undefined;
    node = node[key] ?? node[toCamel(key)];
  }
  return node;
}

export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
