import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { typeLabelOf } from './config-types';
import { DEFAULT_APP_ROOT } from './config.loader';
import { appConfigSchema, serverEntrySchema } from './config.schema';
import { envNamesOf, listKeys, nodeOf, toKebab, type LeafKey } from './schema-walker';

/**
 * Writes `docs/configuration.md` from the schema (`npm run config:docs`), so the reference cannot drift from what
 * the loader accepts: a unit test fails when the committed file differs from `renderConfigDocs()`.
 */

const SERVER_PREFIX = 'mcp.servers.<id>';

/** Warnings the loader gives for parts of ignored keys (see `semanticWarnings` in config.loader.ts). */
const PARTIAL_WARNINGS: Record<string, string> = {
  'spring.jpa': 'only for `hibernate.ddl-auto` other than `validate`/`none`',
  'spring.cloud': 'only for `vault.enabled: true`',
};

export function renderConfigDocs(): string {
  const keys = listKeys(appConfigSchema);
  const used = keys.filter((key) => !key.meta?.ignored);
  const ignored = keys.filter((key) => key.meta?.ignored);
  const serverFields = listKeys(serverEntrySchema);
  const groups = [...new Set(used.map((key) => key.path[0]!))];

  const out: string[] = [
    '# Configuration reference',
    '',
    '<!-- Generated from src/config/config.schema.ts by `npm run config:docs`. Do not edit by hand. -->',
    '',
    "globalmcp reads the Spring Boot style YAML of the Java edition's deployment guide unchanged: the same keys, the",
    'same environment variables, the same duration and size formats. One zod schema declares every key; the loader,',
    'the environment binding, secret masking and this page are all derived from it.',
    '',
    '## Sources and precedence',
    '',
    'Lowest to highest; a higher source overrides single keys of a lower one (maps such as `mcp.servers` are merged',
    'entry by entry, not replaced):',
    '',
    '1. Built-in defaults (the Default column below).',
    '2. The config file(s): the first of `--config FILE`, `GLOBALMCP_CONFIG`, `SPRING_CONFIG_LOCATION` that is set. Each',
    '   is a comma-separated list; later files override earlier ones, so `--config application.yml,servers.yml` works',
    "   as the guide's ConfigMap does. Spring's `file:`, `classpath:` and `optional:` prefixes and directories",
    '   (meaning `application.yml` inside them) are accepted. A named file that does not exist is an error. When',
    '   nothing is named, `config/application.yml` of the installation is read if present.',
    '3. Profile files (see below).',
    '4. Environment variables (see below); `DATABASE_URL`, `REDIS_URL` and the other aliases rank below the',
    '   canonical names (`SPRING_DATASOURCE_URL` wins over `DATABASE_URL`).',
    '',
    'An empty value (`port:` with nothing after it) means "not set": the default or a lower source applies.',
    'Keys may be written in kebab-case (`default-timeout`, as documented here), camelCase (`defaultTimeout`) or',
    'snake_case (`default_timeout`).',
    '',
    '## Profiles',
    '',
    'Active profiles come from `GLOBALMCP_PROFILES`, else `SPRING_PROFILES_ACTIVE`, else `spring.profiles.active` in',
    'the config files (comma-separated); `spring.profiles.include` is always added first. For each profile, in order,',
    '`application-{profile}.yml` (or `.yaml`; generally `<file>-{profile}.yml`) next to each config file is merged over',
    'the config files, later profiles winning. A profile without a file is not an error. In a multi-document file',
    '(`---`), a document with `spring.config.activate.on-profile: prod` (or `!prod`) applies only when that profile',
    'is (or is not) active.',
    '',
    '## Environment variables',
    '',
    'Any key can be set by an environment variable in the relaxed form: upper case, `.` and `-` as `_`',
    "(`mcp.client.default-timeout` is `MCP_CLIENT_DEFAULT_TIMEOUT`). Spring's canonical dashless form",
    '(`MCP_CLIENT_DEFAULTTIMEOUT`) works too. Some keys also have aliases, listed in the tables. Maps take the map key',
    'after the prefix: `LOGGING_LEVEL_ROOT=DEBUG`, `LOGGING_LEVEL_COM_DEEPAI_MCPCLIENT=WARN` (matching a key the files',
    'already use, else lower-cased), `MCP_SERVERS_<ID>_<FIELD>` (see Server entries). Lists take comma-separated values',
    '(`MANAGEMENT_ENDPOINTS_WEB_EXPOSURE_INCLUDE=health,prometheus`). Empty variables are ignored.',
    '',
    '## Interpolation',
    '',
    '`${VAR}` and `${VAR:default}` in any value are replaced by the environment variable `VAR` (or the default), also',
    'inside longer strings: `jdbc:postgresql://${DB_HOST}:${DB_PORT:5432}/globalmcp`. A value that is only an',
    'unresolved placeholder leaves the key unset (so its default applies) and one warning names every unresolved',
    'placeholder. Placeholders inside accepted-and-ignored keys are not expanded.',
    '',
    '## Value formats',
    '',
    '- **duration**: milliseconds (`15000`), a number with a unit (`500ms`, `60s`, `5m`, `1h`, `1d`) or ISO-8601',
    '  (`PT1M30S`). Shown in milliseconds in this page.',
    '- **size**: bytes (`1048576`) or with a unit (`512KB`, `100MB`, `3GB`; powers of 1024).',
    '- **boolean**: `true`/`false` (also `yes`/`no`, `on`/`off`, `1`/`0`).',
    '- **list of strings**: a YAML list or a comma-separated string.',
    '- Secrets (marked *secret*) never show their value: not here, not in `--validate-config`, logs or API responses,',
    '  where they read `***`; passwords inside URLs are masked the same way.',
    '',
    '## Keys',
    '',
  ];

  for (const group of groups) {
    out.push(`### ${group}`, '', ...table(used.filter((key) => key.path[0] === group)), '');
  }

  out.push(
    '## Server entries',
    '',
    `Each entry of \`mcp.servers\` is one MCP server, keyed by its id (1-64 letters, digits, \`_\`, \`.\`, \`-\`). A`,
    '`stdio` server needs `command`; `http` (Streamable HTTP; `streamable-http` is accepted) and `sse` servers need',
    "`url`. A wrong `type` fails with `mcp.servers.<id>.type`. Several files may each add servers: the guide's",
    '`servers.yml` holds only `mcp.servers`.',
    '',
    'From the environment: `MCP_SERVERS_<ID>_<FIELD>`, the id upper-cased with `-` and `.` as `_` (an id the files',
    'already use is matched; a new one is lower-cased with `_` as `-`), the field in either form below; map fields add',
    'the map key: `MCP_SERVERS_MONGODB_PRODUCTION_ENVIRONMENT_MONGODB_URI=...`,',
    '`MCP_SERVERS_WEATHER_HEADERS_X_API_KEY=...` (in header names `_` means `-`).',
    '',
    '```yaml',
    'mcp:',
    '  servers:',
    '    mongodb-production:',
    '      type: stdio',
    '      command: java',
    '      args: ["-jar", "/opt/servers/mongo-mcp-server.jar"]',
    '      timeout: 15000',
    '      environment:',
    '        MONGODB_URI: "${MONGODB_PROD_URI}"',
    '    weather:',
    '      type: http',
    '      url: https://weather.example.com/mcp',
    '      headers:',
    '        Authorization: "Bearer ${WEATHER_TOKEN}"',
    '```',
    '',
    ...table(
      serverFields.map((field) => ({ ...field, display: `${SERVER_PREFIX}.${field.display}` })),
      (field) =>
        [
          ...new Set([
            field.path.map((p) => toKebab(p).replace(/-/g, '_').toUpperCase()).join('_'),
            field.path.join('').toUpperCase(),
          ]),
        ]
          .map((form) => `\`MCP_SERVERS_<ID>_${form}${nodeOf(field.schema).kind === 'record' ? '_<KEY>' : ''}\``)
          .join('<br>'),
    ),
    '',
    '## Accepted and ignored (Java edition)',
    '',
    "These keys appear in the Java edition's files and mean nothing here. They are accepted, so those files load",
    'unchanged, and not read; nothing under them is reported as unknown. A warning is given only where you would',
    'otherwise assume an effect.',
    '',
    '| Key | Warning | Why |',
    '|---|---|---|',
    ...ignored.map(
      (key) =>
        `| \`${key.display}\` | ${key.meta?.ignored === 'warn' ? 'yes, when set' : (PARTIAL_WARNINGS[key.display] ?? 'no')} | ${cell(key.meta?.description ?? '')} |`,
    ),
    '',
    '## Unknown keys and errors',
    '',
    'Keys the schema does not know are ignored with one warning at boot naming all of them (typos show up there). A',
    "wrong value fails boot before anything listens or starts, naming the key's full path and the reason, for",
    'example `server.port: expected a whole number` or `mcp.servers.foo.type: expected one of stdio, http, sse`. YAML',
    'syntax errors and duplicate keys are refused with the file, line and column.',
    '',
    '## Checking a configuration: `--validate-config`',
    '',
    '```sh',
    'npm start -- --validate-config --config /etc/globalmcp/application.yml,/etc/globalmcp/servers.yml',
    '```',
    '',
    'Loads the configuration exactly as a start would (files, profiles, environment) and starts nothing, the way',
    '`nginx -t` does. On success it prints the warnings (`WARN ...`) and a summary (files read, profiles, ports,',
    'database, Redis, servers with type and state, which secrets are set, as `***`) and exits 0. Otherwise it prints',
    'every problem as `ERROR <key path>: <reason>` and exits 1.',
    '',
  );
  return out.join('\n');
}

function table(keys: LeafKey[], envCell: (key: LeafKey) => string = (key) => envNames(key)): string[] {
  return [
    '| Key | Type | Default | Environment | Description |',
    '|---|---|---|---|---|',
    ...keys.map(
      (key) =>
        `| \`${key.display}\` | ${typeOf(key.schema)} | ${defaultOf(key)} | ${envCell(key)} | ${cell(key.meta?.description ?? '')}${key.meta?.sensitive ? ' *Secret.*' : ''} |`,
    ),
  ];
}

function envNames(key: LeafKey): string {
  const kind = nodeOf(key.schema).kind;
  if (kind === 'object') return '—';
  const names =
    kind === 'record' ? envNamesOf({ path: key.path, meta: undefined }).map((n) => `${n}_<KEY>`) : envNamesOf(key);
  if (key.display === 'mcp.servers') return '`MCP_SERVERS_<ID>_<FIELD>`';
  return names.map((n) => `\`${n}\``).join('<br>');
}

const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');

/** A readable type name: the parsers' labels, else zod's structure (enums list their values). */
function typeOf(schema: z.ZodType): string {
  let current: z.ZodType = schema;
  for (let i = 0; i < 20; i += 1) {
    const label = typeLabelOf(current);
    if (label) return label;
    if (
      current instanceof z.ZodOptional ||
      current instanceof z.ZodNullable ||
      current instanceof z.ZodDefault ||
      current instanceof z.ZodPrefault
    ) {
      current = current.unwrap() as z.ZodType;
    } else if (current instanceof z.ZodPipe) {
      current = (current.in instanceof z.ZodTransform ? current.out : current.in) as z.ZodType;
    } else break;
  }
  if (current instanceof z.ZodEnum) return current.options.map((o) => `\`${String(o)}\``).join(' \\| ');
  if (current instanceof z.ZodURL) return 'URL';
  if (current instanceof z.ZodString) return 'string';
  if (current instanceof z.ZodBoolean) return 'boolean';
  if (current instanceof z.ZodNumber) return 'number';
  if (current instanceof z.ZodRecord) return 'map';
  if (current instanceof z.ZodArray) return 'list';
  if (current instanceof z.ZodObject) return 'object';
  return 'any';
}

function defaultOf(key: LeafKey): string {
  if (key.meta?.sensitive) return '*secret*';
  const parsed = key.schema.safeParse(undefined);
  if (!parsed.success || parsed.data === undefined) return '—';
  const value: unknown = parsed.data;
  if (typeof value === 'string') return value === '' ? '`""`' : `\`${value}\``;
  if (Array.isArray(value)) return value.length === 0 ? '`[]`' : `\`${value.join(',')}\``;
  if (typeof value === 'object' && value !== null)
    return Object.keys(value).length === 0 ? '`{}`' : `\`${inline(value)}\``;
  return `\`${String(value)}\``;
}

/** `{free: {requests-per-minute: 100}}` in YAML flow style with kebab-case keys. */
function inline(value: unknown): string {
  if (typeof value !== 'object' || value === null) return String(value);
  if (Array.isArray(value)) return `[${value.map(inline).join(', ')}]`;
  return `{${Object.entries(value)
    .map(([k, v]) => `${toKebab(k)}: ${inline(v)}`)
    .join(', ')}}`;
}

export const CONFIG_DOCS_PATH = path.join(DEFAULT_APP_ROOT, 'docs', 'configuration.md');

export function writeConfigDocs(target: string = CONFIG_DOCS_PATH): string {
  writeFileSync(target, renderConfigDocs());
  return target;
}

if (require.main === module) {
  const target = writeConfigDocs(process.argv[2] ? path.resolve(process.argv[2]) : CONFIG_DOCS_PATH);
  process.stdout.write(`wrote ${path.relative(process.cwd(), target) || target}\n`);
}
