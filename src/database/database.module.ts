import { Global, Inject, Injectable, Logger, Module, type OnApplicationShutdown } from '@nestjs/common';
import { getDataSourceToken, TypeOrmModule, type TypeOrmModuleOptions } from '@nestjs/typeorm';
import { DataSource, type DataSourceOptions } from 'typeorm';
import { APP_CONFIG } from 'src/config/config.module';
import type { AppConfig } from 'src/config/config.schema';
import { buildDataSourceOptions, describeDatabaseUrl } from './database-options';
import { EmbeddedPostgresService } from './embedded-postgres.service';
import { PgNotifications } from './pg-notifications';

/** Injection token of the embedded PostgreSQL: an `EmbeddedPostgresService`, or `null` when a URL is configured. */
export const EMBEDDED_POSTGRES = Symbol('EMBEDDED_POSTGRES');

/** What readiness and /actuator/info may say about the database. */
export interface DatabaseStatusSnapshot {
  /** The gateway runs its own PostgreSQL (no `spring.datasource.url`). */
  embedded: boolean;
  /** Connection URL with the password masked; undefined until connected. */
  url?: string;
  /** True until the migrations known to this build have all been applied. */
  migrationsPending: boolean;
  /** Migrations this process applied at start (empty when the schema was already current). */
  appliedAtStart: string[];
}

/**
 * Live database facts, filled in while the DataSource is created: readiness reports "migrations done" from
 * `migrationsPending === false`.
 */
@Injectable()
export class DatabaseStatus {
  embedded = false;
  url?: string;
  migrationsPending = true;
  appliedAtStart: string[] = [];

  snapshot(): DatabaseStatusSnapshot {
    return {
      embedded: this.embedded,
      url: this.url,
      migrationsPending: this.migrationsPending,
      appliedAtStart: [...this.appliedAtStart],
    };
  }
}

/** A migration failed at start: not retried like a refused connection. */
export class MigrationFailedError extends Error {
  override readonly name = 'MigrationFailedError';
}

/** Carried on the options from the options factory to the DataSource factory (TypeORM ignores the key). */
const STARTUP = Symbol('DATABASE_STARTUP');
interface Startup {
  migrateOnStart: boolean;
  status: DatabaseStatus;
  embedded: EmbeddedPostgresService | null;
}
type OptionsWithStartup = DataSourceOptions & { [STARTUP]?: Startup };

const logger = new Logger('Database');

/** Provides the embedded PostgreSQL (or null) and the status to both the TypeORM factory and the rest of the app. */
@Module({
  providers: [
    {
      provide: EMBEDDED_POSTGRES,
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig): EmbeddedPostgresService | null =>
        config.spring.datasource.url
          ? null
          : new EmbeddedPostgresService({ dataDir: config.mcp.dataDir, port: config.mcp.database.embedded.port }),
    },
    DatabaseStatus,
  ],
  exports: [EMBEDDED_POSTGRES, DatabaseStatus],
})
class DatabaseRuntimeModule {}

async function createOptions(
  config: AppConfig,
  embedded: EmbeddedPostgresService | null,
  status: DatabaseStatus,
): Promise<TypeOrmModuleOptions> {
  const url = config.spring.datasource.url ?? (await embedded!.start());
  status.embedded = embedded !== null;
  status.url = describeDatabaseUrl(url);
  logger.log(`Connecting to ${status.url}${status.embedded ? ' (embedded)' : ''}`);
  const startup: Startup = { migrateOnStart: config.mcp.database.migrateOnStart, status, embedded };
  return {
    ...buildDataSourceOptions(config, url),
    autoLoadEntities: true,
    retryAttempts: embedded ? 2 : 9,
    retryDelay: embedded ? 500 : 3000,
    toRetry: (error) => !(error instanceof MigrationFailedError),
    [STARTUP]: startup,
  } as TypeOrmModuleOptions;
}

/** Initialises the DataSource, then applies pending migrations (when `mcp.database.migrate-on-start`). */
async function createDataSource(options?: DataSourceOptions): Promise<DataSource> {
  const { [STARTUP]: startup, ...dataSourceOptions } = options as OptionsWithStartup;
  const dataSource = new DataSource(dataSourceOptions);
  await dataSource.initialize();
  if (!startup) return dataSource;
  try {
    if (startup.migrateOnStart) {
      const applied = await dataSource.runMigrations({ transaction: 'each' });
      startup.status.appliedAtStart = applied.map((m) => m.name);
      for (const migration of applied) logger.log(`Applied migration ${migration.name}`);
      if (applied.length === 0) logger.log('Schema is up to date');
    }
    startup.status.migrationsPending = await dataSource.showMigrations();
    if (startup.status.migrationsPending) {
      logger.warn('Migrations are pending and mcp.database.migrate-on-start is false: run `npm run migration:run`');
    }
  } catch (error) {
    await dataSource.destroy().catch(() => undefined);
    await startup.embedded?.stop().catch(() => undefined);
    throw new MigrationFailedError(`Migrations failed: ${(error as Error).message}`, { cause: error });
  }
  return dataSource;
}

/**
 * Shutdown order: the DataSource closes its pool first, then the embedded PostgreSQL stops. Both happen here, in
 * one hook, so the order does not depend on how Nest orders modules. DatabaseModule is global, and Nest runs the
 * shutdown hooks of global modules after those of feature modules, so feature modules may still use the
 * database in their own `onApplicationShutdown`. (TypeOrmCoreModule's own hook then finds the DataSource closed.)
 */
@Injectable()
export class DatabaseShutdown implements OnApplicationShutdown {
  constructor(
    @Inject(getDataSourceToken()) private readonly dataSource: DataSource,
    @Inject(EMBEDDED_POSTGRES) private readonly embedded: EmbeddedPostgresService | null,
  ) {}

  async onApplicationShutdown(): Promise<void> {
    try {
      if (this.dataSource.isInitialized) await this.dataSource.destroy();
    } catch (error) {
      logger.error(`Closing the database pool failed: ${(error as Error).message}`);
    }
    await this.embedded?.stop();
  }
}

/**
 * The gateway's PostgreSQL: the configured `spring.datasource.url`, or an embedded PostgreSQL under
 * `<mcp.data-dir>/postgres` when none is set. Migrations run at start unless `mcp.database.migrate-on-start` is
 * false. Global: inject `DataSource`, repositories (`TypeOrmModule.forFeature` in feature modules, entities are
 * auto-loaded) and `DatabaseStatus` anywhere.
 */
@Global()
@Module({
  imports: [
    DatabaseRuntimeModule,
    TypeOrmModule.forRootAsync({
      imports: [DatabaseRuntimeModule],
      inject: [APP_CONFIG, EMBEDDED_POSTGRES, DatabaseStatus],
      useFactory: createOptions,
      dataSourceFactory: createDataSource,
    }),
  ],
  providers: [DatabaseShutdown, PgNotifications],
  exports: [DatabaseRuntimeModule, PgNotifications],
})
export class DatabaseModule {}
