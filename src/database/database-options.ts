import path from 'node:path';
import type { PostgresDataSourceOptions } from 'typeorm/driver/postgres/PostgresDataSourceOptions';
import type { AppConfig } from 'src/config/config.schema';

/** TypeORM 1.x renamed 0.3's `PostgresConnectionOptions`; the old name is kept for readers of either. */
export type PostgresConnectionOptions = PostgresDataSourceOptions;

/** Name of the table TypeORM records applied migrations in. */
export const MIGRATIONS_TABLE = 'schema_migrations';

/**
 * Glob of the migration files next to the running code: `migrations/*.ts` when this file runs as TypeScript
 * (jest), `dist/migrations/*.js` in the build. Both sit two levels above this file's directory.
 */
export function migrationsGlob(): string {
  const extension = path.extname(__filename) === '.ts' ? 'ts' : 'js';
  return path.join(path.resolve(__dirname, '..', '..'), 'migrations', `*.${extension}`);
}

/** The parts of a PostgreSQL URL that node-postgres takes as separate options. */
export interface ParsedDatabaseUrl {
  host: string;
  port: number;
  database: string;
  username?: string;
  password?: string;
  ssl: PostgresConnectionOptions['ssl'];
  schema?: string;
  applicationName?: string;
}

/**
 * Parses `jdbc:postgresql://host:5432/db?sslmode=require&user=u&password=p`, `postgres://u:p@host/db` or
 * `postgresql://...`. JDBC query parameters (`user`, `password`, `ssl`, `sslmode`, `currentSchema`,
 * `ApplicationName`) are honoured; libpq's `sslmode=prefer` cannot be expressed with node-postgres and means
 * "no TLS" here (as `disable`/`allow`).
 */
export function parseDatabaseUrl(url: string): ParsedDatabaseUrl {
  const trimmed = url.trim();
  const withoutJdbc = trimmed.replace(/^jdbc:/i, '');
  if (!/^postgres(ql)?:\/\//i.test(withoutJdbc)) {
    throw new Error(
      `Unsupported database URL ${describeDatabaseUrl(trimmed)}: expected jdbc:postgresql://, postgresql:// or postgres://`,
    );
  }
  let parsed: URL;
  try {
    parsed = new URL(withoutJdbc.replace(/^postgres(ql)?:/i, 'postgres:'));
  } catch {
    throw new Error(`Invalid database URL ${describeDatabaseUrl(trimmed)}`);
  }
  const query = parsed.searchParams;
  const param = (...names: string[]): string | undefined => {
    for (const name of names) {
      for (const [key, value] of query) if (key.toLowerCase() === name.toLowerCase()) return value;
    }
    return undefined;
  };
  const decode = (value: string) => (value === '' ? undefined : decodeURIComponent(value));

  const database = decodeURIComponent(parsed.pathname.replace(/^\//, ''));
  return {
    host: parsed.hostname.replace(/^\[(.*)\]$/, '$1') || 'localhost',
    port: parsed.port ? Number(parsed.port) : 5432,
    database: database || 'postgres',
    username: decode(parsed.username) ?? param('user'),
    password: decode(parsed.password) ?? param('password'),
    ssl: sslFrom(param('sslmode'), param('ssl')),
    schema: param('currentSchema', 'search_path'),
    applicationName: param('ApplicationName', 'application_name'),
  };
}

function sslFrom(sslmode: string | undefined, ssl: string | undefined): PostgresConnectionOptions['ssl'] {
  switch (sslmode?.toLowerCase()) {
    case 'require':
      // libpq's `require`: encrypted, certificate not verified.
      return { rejectUnauthorized: false };
    case 'verify-ca':
    case 'verify-full':
      return { rejectUnauthorized: true };
    case 'disable':
    case 'allow':
    case 'prefer':
      return false;
    case undefined:
      // pgjdbc's `ssl=true` without sslmode verifies the certificate.
      return ssl?.toLowerCase() === 'true' ? { rejectUnauthorized: true } : false;
    default:
      throw new Error(`Unsupported sslmode "${sslmode}": use disable, require, verify-ca or verify-full`);
  }
}

/**
 * TypeORM options for the gateway's PostgreSQL: connection from `url` (the configured or the embedded one),
 * `spring.datasource.username`/`password` overriding the URL's, pool sizing from `spring.datasource.hikari`.
 * The schema is only ever changed by migrations (never `synchronize`), and migrations are run explicitly by the
 * DatabaseModule or the CLI, not by TypeORM on connect.
 */
export function buildDataSourceOptions(config: AppConfig, url: string): PostgresConnectionOptions {
  const datasource = config.spring.datasource;
  const hikari = datasource.hikari;
  const parsed = parseDatabaseUrl(url);
  const max = hikari.maximumPoolSize;
  // Hikari's default: minimum-idle equals maximum-pool-size.
  const min = Math.min(hikari.minimumIdle ?? max, max);

  return {
    type: 'postgres',
    host: parsed.host,
    port: parsed.port,
    database: parsed.database,
    username: datasource.username ?? parsed.username,
    password: datasource.password ?? parsed.password,
    ssl: parsed.ssl,
    ...(parsed.schema ? { schema: parsed.schema } : {}),
    applicationName: parsed.applicationName ?? hikari.poolName,
    poolSize: max,
    connectTimeoutMS: hikari.connectionTimeout,
    extra: {
      max,
      min,
      idleTimeoutMillis: hikari.idleTimeout,
      connectionTimeoutMillis: hikari.connectionTimeout,
      maxLifetimeSeconds: Math.floor(hikari.maxLifetime / 1000),
      application_name: parsed.applicationName ?? hikari.poolName,
    },
    entities: [],
    migrations: [migrationsGlob()],
    migrationsTableName: MIGRATIONS_TABLE,
    migrationsTransactionMode: 'each',
    migrationsRun: false,
    synchronize: false,
    dropSchema: false,
  };
}

const MASK = '****';

/**
 * The URL with its password masked, for logs and status endpoints: `postgres://app:****@db:5432/globalmcp`.
 * Never throws; an unparseable value is masked heuristically.
 */
export function describeDatabaseUrl(url: string): string {
  const trimmed = url.trim();
  const jdbc = /^jdbc:/i.test(trimmed) ? trimmed.slice(0, 5) : '';
  try {
    const parsed = new URL(trimmed.slice(jdbc.length));
    if (parsed.password) parsed.password = MASK;
    for (const key of [...parsed.searchParams.keys()]) {
      if (key.toLowerCase() === 'password') parsed.searchParams.set(key, MASK);
    }
    return `${jdbc}${parsed.toString()}`;
  } catch {
    return trimmed.replace(/(\/\/[^:/@?#]*:)[^@/?#]*@/, `$1${MASK}@`).replace(/(password=)[^&#]*/gi, `$1${MASK}`);
  }
}
