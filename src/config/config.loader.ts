import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { z } from 'zod';
import { APP_ROOT } from 'src/common/app-root';
import { appConfigSchema, type AppConfig } from './config.schema';
import { deepFreeze, deepMerge, getPath, isTree, type Tree } from './config-tree';
import { bindEnvironment } from './env-binding';
import { displayPath, listKeys, matchKey, metaOf, nodeOf } from './schema-walker';

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
  /** The options it was loaded with: a reload (SIGHUP, file watch) loads again with the same ones. */
  options?: LoadOptions;
}

export interface LoadOptions {
  /** `--config` value(s): comma-separated list of files. */
  configFiles?: string;
  env?: NodeJS.ProcessEnv;
  /** Where `config/application.yml` is looked up when no file is named. */
  appRoot?: string;
}

/** Where `config/application.yml` is looked up when no file is named and no `appRoot` is given. */
export const DEFAULT_APP_ROOT = APP_ROOT;

/** One YAML document of a file, keys normalised; `onProfile` set when it has `spring.config.activate.on-profile`. */
interface Layer {
  file: string;
  tree: Tree;
  onProfile?: string[];
}

const PROFILE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

export function loadConfig(options: LoadOptions = {}): LoadedConfig {
  const env = options.env ?? process.env;
  const appRoot = options.appRoot ?? DEFAULT_APP_ROOT;
  const warnings: string[] = [];
  const unknownKeys: string[] = [];
  const unresolved = new Set<string>();
  const sources: string[] = [];

  const readLayers = (file: string): Layer[] => {
    sources.push(file);
    return parseYamlFile(file).map((raw) => {
      const tree = normalize(appConfigSchema, raw, [], unknownKeys, env, unresolved);
      const onProfile = getPath(tree, ['spring', 'config', 'activate', 'onProfile']);
      return { file, tree, onProfile: onProfile === undefined ? undefined : asList(onProfile) };
    });
  };

  const baseFiles = resolveBaseFiles(options.configFiles, env, appRoot);
  const baseLayers = baseFiles.flatMap(readLayers);
  let merged: Tree = {};
  for (const layer of baseLayers) if (!layer.onProfile) merged = deepMerge(merged, layer.tree);

  const profiles = resolveProfiles(env, merged);
  const matches = (layer: Layer) => !layer.onProfile || profileMatches(layer.onProfile, profiles);
  // Documents of the base files activated by a profile (`---` + `spring.config.activate.on-profile`).
  for (const layer of baseLayers) if (layer.onProfile && matches(layer)) merged = deepMerge(merged, layer.tree);
  // Then `application-{profile}.yml` next to each base file (or in `<appRoot>/config` when none was found), in
  // profile order so that later profiles win.
  const profileBases = baseFiles.length > 0 ? baseFiles : [path.join(appRoot, 'config', 'application.yml')];
  for (const profile of profiles) {
    for (const base of profileBases) {
      const profileFile = profileFileFor(base, profile);
      if (!profileFile || sources.includes(profileFile)) continue;
      for (const layer of readLayers(profileFile)) if (matches(layer)) merged = deepMerge(merged, layer.tree);
    }
  }

  const fromEnv = bindEnvironment(env, merged);
  merged = deepMerge(merged, fromEnv.tree);

  const parsed = appConfigSchema.safeParse(merged);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((issue) => ({
      path: displayPath(appConfigSchema, issue.path) || '(root)',
      message: issueMessage(issue),
    }));
    throw new ConfigError(issues, sources);
  }

  if (unknownKeys.length > 0) {
    warnings.push(`Unknown configuration keys ignored: ${[...new Set(unknownKeys)].join(', ')}`);
  }
  if (unresolved.size > 0) {
    warnings.push(
      `Placeholders with no environment variable and no default were left unset: ${[...unresolved].map((v) => `\${${v}}`).join(', ')}`,
    );
  }
  warnings.push(...semanticWarnings(merged, parsed.data));

  const configDir =
    baseFiles.length > 0 ? path.dirname(baseFiles[baseFiles.length - 1]!) : path.join(appRoot, 'config');
  return {
    config: deepFreeze(parsed.data),
    sources,
    profiles,
    warnings,
    environmentKeys: fromEnv.used,
    configDir,
    options,
  };
}

/** zod reports a bad map key (a server id) as `Invalid key in record`; the nested issue says what is wrong. */
function issueMessage(issue: z.core.$ZodIssue): string {
  if (issue.code === 'invalid_key' && issue.issues.length > 0) {
    return `invalid key: ${issue.issues.map((nested) => nested.message).join('; ')}`;
  }
  return issue.message;
}

const asList = (v: unknown): string[] =>
  (Array.isArray(v) ? v.map(String) : typeof v === 'string' ? v.split(',') : []).map((s) => s.trim()).filter(Boolean);

/** Spring's `on-profile`: a list of names, any of which may be negated with `!`; matches when any entry does. */
function profileMatches(expression: string[], active: string[]): boolean {
  return expression.some((entry) =>
    entry.startsWith('!') ? !active.includes(entry.slice(1).trim()) : active.includes(entry),
  );
}

// ---------------------------------------------------------------------------------------------------- files

function resolveBaseFiles(cliValue: string | undefined, env: NodeJS.ProcessEnv, appRoot: string): string[] {
  const named = [cliValue, env.GLOBALMCP_CONFIG, env.SPRING_CONFIG_LOCATION].find(
    (v) => v !== undefined && v.trim() !== '',
  );
  if (named === undefined || named.trim() === '') {
    const fallback = path.join(appRoot, 'config', 'application.yml');
    return existsSync(fallback) ? [fallback] : [];
  }
  const files: string[] = [];
  for (let entry of named
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const optional = entry.startsWith('optional:');
    if (optional) entry = entry.slice('optional:'.length);
    entry = entry.replace(/^(file|classpath):/, '');
    const absolute = path.resolve(entry);
    if (existsSync(absolute) && statSync(absolute).isDirectory()) {
      // Spring's directory locations: application.yml (or .yaml) inside it.
      const inDir = ['application.yml', 'application.yaml']
        .map((n) => path.join(absolute, n))
        .find((f) => existsSync(f));
      if (inDir) files.push(inDir);
      else if (!optional)
        throw new ConfigError(
          [{ path: '(config location)', message: `no application.yml in directory ${absolute}` }],
          [],
        );
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
  const fromEnv = [env.GLOBALMCP_PROFILES, env.SPRING_PROFILES_ACTIVE].find((v) => v !== undefined && v.trim() !== '');
  const spring = isTree(merged.spring) && isTree(merged.spring.profiles) ? merged.spring.profiles : {};
  const active = fromEnv !== undefined ? asList(fromEnv) : asList(spring.active);
  const profiles = [...new Set([...asList(spring.include), ...active])];
  // A profile names a file next to the config: refuse anything that could point elsewhere.
  const bad = profiles.filter((p) => !PROFILE_NAME.test(p));
  if (bad.length > 0) {
    throw new ConfigError(
      bad.map((p) => ({
        path: 'spring.profiles.active',
        message: `invalid profile name "${p}": letters, digits, \`_\`, \`.\` and \`-\` only`,
      })),
      [],
    );
  }
  return profiles;
}

/** Reads a YAML file into its documents (Spring allows several, separated by `---`); refuses bad YAML with file:line. */
function parseYamlFile(file: string): Tree[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError([{ path: '(file)', message: `cannot read ${file}: ${(error as Error).message}` }], [file]);
  }
  const docs = parseAllDocuments(text, { prettyErrors: true, uniqueKeys: true });
  // `parseAllDocuments` returns an EmptyStream (an array with an `empty` flag) for a file holding nothing.
  const list = Array.isArray(docs) ? docs : [docs];
  const errors = list.flatMap((doc) => doc.errors);
  if (errors.length > 0) {
    throw new ConfigError(
      errors.map((e) => {
        const pos = e.linePos?.[0];
        return {
          path: `(yaml ${file}:${pos ? `${pos.line}:${pos.col}` : '?'})`,
          // The first line only: the rest quotes the source, which may hold a secret.
          message: e.message.split('\n')[0] ?? e.message,
        };
      }),
      [file],
    );
  }
  const trees: Tree[] = [];
  for (const [index, doc] of list.entries()) {
    const value: unknown = doc.toJS({ maxAliasCount: 100 });
    if (value === null || value === undefined) continue;
    if (!isTree(value)) {
      throw new ConfigError(
        [
          {
            path: '(root)',
            message: `${file}${list.length > 1 ? ` (document ${index + 1})` : ''} must hold a mapping of keys`,
          },
        ],
        [file],
      );
    }
    trees.push(value);
  }
  return trees;
}

// ------------------------------------------------------------------------------------------- interpolation

const PLACEHOLDER = /\$\{([A-Za-z_][A-Za-z0-9_.-]*)(?::([^}]*))?\}/g;

/**
 * Expands `${VAR}` and `${VAR:default}` in string values. A lone unresolved placeholder leaves the key unset (so
 * the default applies); inside a list it becomes an empty string, so the positions of the others stay put.
 */
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
  if (Array.isArray(value)) return value.map((v) => interpolate(v, env, unresolved) ?? '');
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
 * written, expands placeholders (not inside ignored keys: they are never read) and collects keys the schema does
 * not know. An empty value (`port:`) means "not set" and is dropped, so it neither overrides an earlier file nor
 * fails validation; this is also what lets the guide's ConfigMap say `servers:` with nothing under it.
 */
function normalize(
  schema: z.ZodType,
  value: Tree,
  prefix: string[],
  unknown: string[],
  env: NodeJS.ProcessEnv,
  unresolved: Set<string>,
): Tree {
  const node = nodeOf(schema);
  const out: Tree = {};
  const expand = (v: unknown) => interpolate(v, env, unresolved);
  const assign = (key: string, v: unknown) => {
    if (v !== undefined) out[key] = v;
  };
  for (const [key, child] of Object.entries(value)) {
    if (node.kind === 'object') {
      if (child === null) continue;
      const match = matchKey(node.shape, key);
      if (match === undefined) {
        if (node.loose) assign(key, expand(child));
        else unknown.push([...prefix, key].join('.'));
        continue;
      }
      const childSchema = node.shape[match]!;
      const childNode = nodeOf(childSchema);
      if (metaOf(childSchema)?.ignored) out[match] = child;
      else if (isTree(child) && childNode.kind !== 'leaf')
        assign(match, normalize(childSchema, child, [...prefix, key], unknown, env, unresolved));
      else assign(match, expand(child));
    } else if (node.kind === 'record') {
      const valueNode = nodeOf(node.value);
      if (isTree(child) && valueNode.kind !== 'leaf')
        out[key] = normalize(node.value, child, [...prefix, key], unknown, env, unresolved);
      else assign(key, expand(child));
    } else {
      assign(key, expand(child));
    }
  }
  // Aliases Spring users reach for on stdio servers.
  if (prefix.length === 3 && prefix[0] === 'mcp' && prefix[1] === 'servers') {
    for (const alias of ['workingDir', 'working_dir', 'working-dir', 'cwd']) {
      if (alias in value && out.workingDirectory === undefined) {
        out.workingDirectory = expand(value[alias]);
        const index = unknown.lastIndexOf([...prefix, alias].join('.'));
        if (index >= 0) unknown.splice(index, 1);
      }
    }
  }
  return out;
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
    warnings.push(
      `spring.jpa.hibernate.ddl-auto=${ddl} has no effect: the schema is changed only by migrations (it is never dropped or created from entities)`,
    );
  }
  const vault = get(['spring', 'cloud', 'vault', 'enabled']);
  if (vault === true || vault === 'true') {
    warnings.push(
      'spring.cloud.vault.enabled=true has no effect: Vault is not read directly; inject secrets as environment variables (e.g. Vault Agent) and reference them with ${VAR}',
    );
  }
  const cacheType = config.spring.cache.type?.toLowerCase();
  if (cacheType === 'redis' && !config.spring.data.redis.host && !config.spring.data.redis.url) {
    warnings.push(
      'spring.cache.type=redis but no Redis is configured (spring.data.redis.host or REDIS_URL): caching in memory',
    );
  }
  return warnings;
}
