import { DataSource } from 'typeorm';
import { loadConfig } from 'src/config/config.loader';
import { buildDataSourceOptions } from './database-options';

/**
 * The DataSource of the TypeORM CLI (`npm run migration:run|revert|generate`, which run
 * `typeorm migration:... -d dist/src/database/data-source.js`). Configuration comes from the same loader as the
 * gateway: `GLOBALMCP_CONFIG`/`SPRING_CONFIG_LOCATION` files, profiles, `DATABASE_URL`,
 * `SPRING_DATASOURCE_URL`, `SPRING_DATASOURCE_USERNAME`/`PASSWORD`...
 *
 * Without a configured URL this fails rather than starting the embedded PostgreSQL: the gateway applies
 * migrations to its embedded database itself at start (`mcp.database.migrate-on-start`), and a CLI that started
 * (and then stopped) the cluster under `mcp.data-dir` could collide with a gateway running on the same directory.
 */
function createCliDataSource(): DataSource {
  const { config } = loadConfig();
  const url = config.spring.datasource.url;
  if (!url) {
    throw new Error(
      'No database configured for the migration CLI: set DATABASE_URL (e.g. DATABASE_URL=postgres://user:pass@host:5432/globalmcp) ' +
        'or spring.datasource.url in the file named by GLOBALMCP_CONFIG. The embedded PostgreSQL is migrated by the gateway itself at start.',
    );
  }
  return new DataSource({ ...buildDataSourceOptions(config, url), logging: ['error', 'warn', 'migration'] });
}

const dataSource = createCliDataSource();
export default dataSource;
