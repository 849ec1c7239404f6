import { managementTlsOptionsFrom, tlsOptionsFrom } from './tls-options';
import { ConfigError, loadConfig, type LoadedConfig } from './config.loader';
import { appConfigSchema, type AppConfig } from './config.schema';
import { MASK, maskSecrets, maskUrl } from './mask-secrets';
import { listKeys } from './schema-walker';

export { MASK, maskSecrets, maskUrl } from './mask-secrets';

export interface ValidateConfigOptions {
  /** The `--config` value: a comma-separated list of files. */
  configFiles?: string;
  env?: NodeJS.ProcessEnv;
  /** Where `config/application.yml` is looked up when no file is named (defaults to the project root). */
  appRoot?: string;
  /** Receives each output line; defaults to stdout. */
  write?: (line: string) => void;
}

/**
 * `npm start -- --validate-config [--config FILE]`: loads the configuration exactly as boot does and, like
 * `nginx -t`, prints every problem (`ERROR <key path>: <reason>`) and returns 1, or prints the warnings
 * (`WARN ...`) and a summary of what would start, with every secret shown as `***`, and returns 0. Starts nothing.
 */
export function runValidateConfig(options: ValidateConfigOptions = {}): number {
  const write = options.write ?? ((line: string) => process.stdout.write(`${line}\n`));
  let loaded: LoadedConfig;
  try {
    loaded = loadConfig({
      configFiles: options.configFiles,
      env: options.env ?? process.env,
      appRoot: options.appRoot,
    });
  } catch (error) {
    if (error instanceof ConfigError) {
      if (error.sources.length > 0) write(`files: ${error.sources.join(', ')}`);
      for (const issue of error.issues) write(`ERROR ${issue.path}: ${maskUrl(issue.message)}`);
      write(`configuration is invalid: ${error.issues.length} problem${error.issues.length === 1 ? '' : 's'}`);
      return 1;
    }
    write(`ERROR (configuration): ${maskUrl(error instanceof Error ? error.message : String(error))}`);
    write('configuration is invalid');
    return 1;
  }
  const checks = bootChecks(loaded);
  if (checks.errors.length > 0) {
    for (const error of checks.errors) write(`ERROR ${maskUrl(error)}`);
    write(`configuration is invalid: ${checks.errors.length} problem${checks.errors.length === 1 ? '' : 's'}`);
    return 1;
  }
  for (const warning of [...loaded.warnings, ...checks.warnings]) write(`WARN ${maskUrl(warning)}`);
  for (const line of summarize(loaded)) write(line);
  write('configuration is valid');
  return 0;
}

/** Shortest HS256 secret (bytes) and configured admin API key (characters) accepted outside `development`. */
export const MIN_JWT_SECRET_BYTES = 32;
export const MIN_ADMIN_API_KEY_LENGTH = 32;
/** AES-256-GCM key of the secrets at rest. */
export const ENCRYPTION_KEY_BYTES = 32;

/**
 * What boot refuses beyond the schema's types: short secrets (outside the `development` profile, where they are
 * only warned about), an encryption key that is not base64 of 32 bytes, and TLS key material or trust stores that
 * cannot be opened (the same code as boot: tls-options.ts). Lines start with the key path; values are never
 * included.
 */
export function bootChecks(loaded: LoadedConfig): { errors: string[]; warnings: string[] } {
  const { config } = loaded;
  const development = loaded.profiles.includes('development');
  const errors: string[] = [];
  const warnings: string[] = [];
  const tooShort = (problem: string) => (development ? warnings : errors).push(problem);

  const secret = config.mcp.security.jwt.secret;
  const secretBytes = secret ? Buffer.byteLength(secret, 'utf8') : 0;
  if (secret && secretBytes < MIN_JWT_SECRET_BYTES) {
    tooShort(
      `mcp.security.jwt.secret: ${secretBytes} bytes; HS256 needs at least ${MIN_JWT_SECRET_BYTES} (e.g. \`openssl rand -base64 48\`)` +
        (development ? ', accepted only because of the development profile' : ''),
    );
  }
  const adminKey = config.mcp.security.adminApiKey;
  if (adminKey && adminKey.length < MIN_ADMIN_API_KEY_LENGTH) {
    tooShort(
      `mcp.security.admin-api-key: ${adminKey.length} characters; use at least ${MIN_ADMIN_API_KEY_LENGTH} random characters (e.g. \`openssl rand -base64 32\`)` +
        (development ? ', accepted only because of the development profile' : ''),
    );
  }
  const encryptionKey = config.mcp.security.encryptionKey;
  if (encryptionKey !== undefined) {
    const text = encryptionKey.trim();
    const bytes = Buffer.from(text, 'base64').length;
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(text) || bytes !== ENCRYPTION_KEY_BYTES) {
      errors.push(
        `mcp.security.encryption-key: must be base64 of ${ENCRYPTION_KEY_BYTES} bytes (\`openssl rand -base64 32\`), got ` +
          (/^[A-Za-z0-9+/]*={0,2}$/.test(text) ? `${bytes} bytes` : 'characters outside base64'),
      );
    }
  }
  for (const tls of [tlsOptionsFrom, managementTlsOptionsFrom]) {
    try {
      tls(config, loaded.configDir);
    } catch (error) {
      errors.push((error as Error).message);
    }
  }
  return { errors, warnings };
}

/** The summary lines of a loaded configuration; no secret value ever appears in them. */
export function summarize(loaded: LoadedConfig): string[] {
  const config = maskSecrets(loaded.config);
  const lines: string[] = [];
  lines.push(`files: ${loaded.sources.length > 0 ? loaded.sources.join(', ') : 'none (built-in defaults)'}`);
  lines.push(`profiles: ${loaded.profiles.length > 0 ? loaded.profiles.join(', ') : 'none'}`);
  if (loaded.environmentKeys.length > 0) lines.push(`environment: ${loaded.environmentKeys.join(', ')}`);

  const prometheus =
    config.management.prometheus.port === 0 ? 'on the management port' : String(config.management.prometheus.port);
  lines.push(
    `ports: api ${config.server.port} (${config.server.ssl.enabled ? 'https' : 'http'}${mtls(config.server.ssl.clientAuth)}), ` +
      `management ${config.management.server.port}${config.management.server.ssl.enabled ? ` (https${mtls(config.management.server.ssl.clientAuth)})` : ''}, prometheus ${prometheus}`,
  );

  const datasource = config.spring.datasource;
  const pool = `pool ${datasource.hikari.maximumPoolSize}`;
  lines.push(
    datasource.url
      ? `database: ${datasource.url}${datasource.username ? ` (user ${datasource.username})` : ''}, ${pool}`
      : `database: embedded PostgreSQL under ${config.mcp.dataDir}/postgres, ${pool}`,
  );
  lines.push(`redis: ${describeRedis(loaded.config)}`);

  const servers = Object.entries(config.mcp.servers);
  lines.push(`servers: ${servers.length === 0 ? 'none' : servers.length}`);
  for (const [id, server] of servers) {
    const target = server.type === 'stdio' ? [server.command, ...server.args].join(' ') : (server.url ?? '');
    const env = Object.keys(server.environment);
    const headers = Object.keys(server.headers);
    lines.push(
      `  ${id}: ${server.type}, ${server.enabled ? 'enabled' : 'disabled'}, ${target}` +
        (env.length > 0 ? `, environment ${env.map((k) => `${k}=${MASK}`).join(' ')}` : '') +
        (headers.length > 0 ? `, headers ${headers.map((k) => `${k}=${MASK}`).join(' ')}` : ''),
    );
  }

  const secrets = setSecrets(loaded.config);
  lines.push(`secrets: ${secrets.length > 0 ? secrets.map((key) => `${key}=${MASK}`).join(', ') : 'none set'}`);
  return lines;
}

const mtls = (clientAuth: string) => (clientAuth === 'none' ? '' : `, client certificates: ${clientAuth}`);

function describeRedis(config: AppConfig): string {
  const redis = config.spring.data.redis;
  if (redis.url) return maskUrl(redis.url);
  if (!redis.host) return 'none (in-memory cache)';
  return `${redis.host}:${redis.port}/${redis.database}${redis.password ? ` (password ${MASK})` : ''}`;
}

/** The sensitive keys (outside server entries, listed with their servers) that hold a value. */
function setSecrets(config: AppConfig): string[] {
  return listKeys(appConfigSchema)
    .filter((key) => key.meta?.sensitive)
    .filter((key) => {
      let node: unknown = config;
      for (const segment of key.path)
        node = typeof node === 'object' && node !== null ? (node as Record<string, unknown>)[segment] : undefined;
      return node !== undefined && node !== '';
    })
    .map((key) => key.display);
}
