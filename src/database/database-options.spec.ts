import path from 'node:path';
import { appConfigSchema, type AppConfig } from 'src/config/config.schema';
import { buildDataSourceOptions, describeDatabaseUrl, MIGRATIONS_TABLE, parseDatabaseUrl } from './database-options';

function configWith(datasource: Record<string, unknown> = {}): AppConfig {
  return appConfigSchema.parse({ spring: { datasource } });
}

describe('parseDatabaseUrl', () => {
  it('reads a JDBC URL with sslmode=require as TLS without certificate verification', () => {
    expect(parseDatabaseUrl('jdbc:postgresql://db.internal:6543/gateway?sslmode=require')).toEqual({
      host: 'db.internal',
      port: 6543,
      database: 'gateway',
      username: undefined,
      password: undefined,
      ssl: { rejectUnauthorized: false },
      schema: undefined,
      applicationName: undefined,
    });
  });

  it('reads user and password from a postgres:// URL, percent-decoded, with default port 5432', () => {
    const parsed = parseDatabaseUrl('postgres://app%40corp:p%3Ass%2Fw@db/globalmcp');
    expect(parsed).toMatchObject({
      host: 'db',
      port: 5432,
      database: 'globalmcp',
      username: 'app@corp',
      password: 'p:ss/w',
      ssl: false,
    });
  });

  it('takes JDBC query parameters user, password, currentSchema and ApplicationName', () => {
    const parsed = parseDatabaseUrl(
      'jdbc:postgresql://h/db?user=u&password=secret&currentSchema=mcp&ApplicationName=gw',
    );
    expect(parsed).toMatchObject({ username: 'u', password: 'secret', schema: 'mcp', applicationName: 'gw' });
  });

  it('verifies certificates for verify-full and for pgjdbc ssl=true', () => {
    expect(parseDatabaseUrl('postgresql://h/db?sslmode=verify-full').ssl).toEqual({ rejectUnauthorized: true });
    expect(parseDatabaseUrl('jdbc:postgresql://h/db?ssl=true').ssl).toEqual({ rejectUnauthorized: true });
    expect(parseDatabaseUrl('jdbc:postgresql://h/db?sslmode=disable').ssl).toBe(false);
  });

  it('reads a bracketed IPv6 host', () => {
    expect(parseDatabaseUrl('postgres://[::1]:5433/db')).toMatchObject({ host: '::1', port: 5433 });
  });

  it('rejects other schemes without echoing the password', () => {
    expect(() => parseDatabaseUrl('mysql://u:hunter2@h/db')).toThrow(/Unsupported database URL/);
    expect(() => parseDatabaseUrl('mysql://u:hunter2@h/db')).not.toThrow(/hunter2/);
  });

  it('rejects an unknown sslmode', () => {
    expect(() => parseDatabaseUrl('postgres://h/db?sslmode=sometimes')).toThrow(/sslmode/);
  });
});

describe('buildDataSourceOptions', () => {
  it('lets spring.datasource.username and password override the URL credentials', () => {
    const options = buildDataSourceOptions(
      configWith({ username: 'svc', password: 'from-config' }),
      'postgres://url-user:url-pass@db:5432/globalmcp',
    );
    expect(options).toMatchObject({
      type: 'postgres',
      host: 'db',
      port: 5432,
      database: 'globalmcp',
      username: 'svc',
      password: 'from-config',
    });
  });

  it('keeps the URL credentials when the config has none', () => {
    const options = buildDataSourceOptions(configWith(), 'postgres://url-user:url-pass@db/globalmcp');
    expect(options).toMatchObject({ username: 'url-user', password: 'url-pass' });
  });

  it('maps the Hikari pool settings onto node-postgres pool options', () => {
    const options = buildDataSourceOptions(
      configWith({
        hikari: {
          maximumPoolSize: 20,
          minimumIdle: 5,
          idleTimeout: '5m',
          connectionTimeout: '10s',
          maxLifetime: '30m',
          poolName: 'gw-pool',
        },
      }),
      'postgres://db/globalmcp',
    );
    expect(options.extra).toEqual({
      max: 20,
      min: 5,
      idleTimeoutMillis: 300_000,
      connectionTimeoutMillis: 10_000,
      maxLifetimeSeconds: 1800,
      application_name: 'gw-pool',
    });
    expect(options.poolSize).toBe(20);
  });

  it('defaults minimum idle to the maximum pool size, as Hikari does', () => {
    const options = buildDataSourceOptions(configWith({ hikari: { maximumPoolSize: 7 } }), 'postgres://db/globalmcp');
    expect(options.extra).toMatchObject({ max: 7, min: 7, application_name: 'globalmcp' });
  });

  it('never synchronizes, never runs migrations on connect, and uses schema_migrations', () => {
    const options = buildDataSourceOptions(configWith(), 'postgres://db/globalmcp');
    expect(options.synchronize).toBe(false);
    expect(options.migrationsRun).toBe(false);
    expect(options.migrationsTableName).toBe(MIGRATIONS_TABLE);
    expect(MIGRATIONS_TABLE).toBe('schema_migrations');
  });

  it('points migrations at the TypeScript sources when running under jest', () => {
    const options = buildDataSourceOptions(configWith(), 'postgres://db/globalmcp');
    expect(options.migrations).toEqual([path.resolve(__dirname, '..', '..', 'migrations', '*.ts')]);
  });
});

describe('describeDatabaseUrl', () => {
  it('masks the password of a postgres:// URL', () => {
    expect(describeDatabaseUrl('postgres://app:s3cret@db:5432/globalmcp')).toBe(
      'postgres://app:****@db:5432/globalmcp',
    );
  });

  it('masks a password query parameter of a JDBC URL and keeps the jdbc: prefix', () => {
    const described = describeDatabaseUrl('jdbc:postgresql://db/globalmcp?user=app&password=s3cret&sslmode=require');
    expect(described).toBe('jdbc:postgresql://db/globalmcp?user=app&password=****&sslmode=require');
  });

  it('leaves a URL without a password as it is', () => {
    expect(describeDatabaseUrl('postgres://db/globalmcp')).toBe('postgres://db/globalmcp');
  });

  it('masks heuristically when the URL cannot be parsed', () => {
    const described = describeDatabaseUrl('postgres://app:s3cret@db:notaport/x');
    expect(described).not.toContain('s3cret');
  });
});
