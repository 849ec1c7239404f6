import { z } from 'zod';
import {
  bool,
  duration,
  ignoredSilently,
  ignoredWithWarning,
  int,
  meta,
  port,
  scalarString,
  size,
  stringList,
} from './config-types';
import { managementSchema, sslSchemaFor } from './management.schema';
import { mcpSchema } from './mcp.schema';

export {
  SERVER_TYPES,
  SYNCHRONOUS_COMMIT_MODES,
  serverEntrySchema,
  type ServerEntry,
  type ServerType,
  type SynchronousCommitMode,
} from './mcp.schema';

/**
 * The one declaration of every configuration key: type, default, description and sensitivity. The loader, the
 * environment-variable binding, the docs generator (`npm run config:docs`) and secret masking all read it.
 *
 * Keys are camelCase here; files may use Spring's kebab-case (`default-timeout`), camelCase or snake_case: the
 * loader maps them (relaxed binding). Keys the Java edition had that mean nothing here are accepted with
 * `ignored`, so the deployment guide's files load unchanged.
 */

const jwtResourceServerSchema = z
  .object({
    issuerUri: meta(z.url().optional(), {
      description:
        'OAuth2 issuer; tokens must carry it as `iss`. Its JWKS is discovered from its metadata unless `jwk-set-uri` is set.',
    }),
    jwkSetUri: meta(z.url().optional(), { description: 'OAuth2 JWKS URL used to verify RS256/ES256 tokens.' }),
    audiences: meta(stringList().default([]), { description: 'Accepted `aud` values; empty accepts any.' }),
    jwsAlgorithms: meta(stringList().default(['RS256', 'ES256']), { description: 'Accepted signature algorithms.' }),
  })
  .prefault({});

const hikariSchema = z
  .object({
    maximumPoolSize: meta(int(1, 1000).default(10), { description: 'Maximum PostgreSQL connections in the pool.' }),
    minimumIdle: meta(int(0, 1000).optional(), { description: 'Connections kept open while idle.' }),
    idleTimeout: meta(duration().default(600_000), { description: 'Idle connections are closed after this (ms).' }),
    connectionTimeout: meta(duration().default(30_000), {
      description: 'Waiting for a free connection fails after this (ms).',
    }),
    maxLifetime: meta(duration().default(1_800_000), { description: 'A connection is replaced after this age (ms).' }),
    poolName: meta(z.string().default('globalmcp'), { description: 'Label of the pool in metrics.' }),
    leakDetectionThreshold: ignoredSilently('JVM connection-leak detector; node-postgres has no equivalent.'),
    dataSourceProperties: ignoredSilently(
      'JDBC driver flags (statement caches and the like); meaningless for node-postgres.',
    ),
    autoCommit: ignoredSilently('JDBC flag; node-postgres commits per statement outside transactions anyway.'),
  })
  .prefault({});

const loggingSchema = z
  .object({
    level: meta(z.record(z.string(), z.string()).default({}), {
      description:
        'Log levels by logger name (`root`, or a module name such as `McpEngine`); TRACE, DEBUG, INFO, WARN, ERROR, OFF. Java package names are accepted and apply to nothing.',
    }),
    format: meta(z.enum(['json', 'text']).default('json'), {
      description:
        "`json` (one object per line) or `text` (the `logging.pattern.console` layout, parseable by the guide's Logstash grok).",
    }),
    pattern: z
      .object({
        console: meta(z.string().optional(), {
          description:
            'Setting it switches console output to text. Honoured parts: %d{...}, %thread, %level/%-5level, %logger{n}, %msg, %n.',
        }),
        file: meta(z.string().optional(), {
          description: 'Layout of file lines; defaults to the console pattern or JSON.',
        }),
      })
      .prefault({}),
    file: z
      .object({
        name: meta(z.string().optional(), { description: 'Log file path; logs also go to the console.' }),
        path: meta(z.string().optional(), { description: 'Directory for `globalmcp.log` when `name` is not set.' }),
      })
      .prefault({}),
    logback: z
      .object({
        rollingpolicy: z
          .object({
            maxFileSize: meta(size().default(10 * 1024 * 1024), { description: 'Rotate the file at this size.' }),
            maxHistory: meta(int(0).default(7), { description: 'Rotated files kept.' }),
            totalSizeCap: meta(size().optional(), {
              description:
                'Upper bound of all log files; lowers the files kept so that history × file size stays under it.',
            }),
            fileNamePattern: ignoredSilently('Logback file-name pattern; rotated files are named `<name>.<n>`.'),
            cleanHistoryOnStart: ignoredSilently('Logback flag.'),
          })
          .prefault({}),
      })
      .prefault({}),
    config: ignoredWithWarning('A Logback XML file; not read here: use logging.* keys.'),
  })
  .prefault({});

/** `server.ssl.*` and `management.server.ssl.*`: the same keys, for the listener `what`. */

const springSchema = z
  .object({
    profiles: z
      .object({
        active: meta(stringList().optional(), {
          description: 'Profiles to load (`application-{profile}.yml`) when no environment variable names any.',
        }),
        include: meta(stringList().optional(), { description: 'Profiles always added.' }),
      })
      .prefault({}),
    config: z
      .object({
        activate: z
          .object({
            onProfile: meta(stringList().optional(), {
              description:
                'In one document of a multi-document file (`---`): the profiles that activate it; `!name` negates.',
            }),
          })
          .prefault({}),
        import: ignoredWithWarning(
          'Spring config imports (`configtree:`, `vault://`, ...) are not read: list the files in `--config` or `GLOBALMCP_CONFIG`.',
        ),
      })
      .prefault({}),
    application: z
      .object({
        name: meta(z.string().default('globalmcp'), { description: 'Service name in logs and /actuator/info.' }),
      })
      .prefault({}),
    datasource: z
      .object({
        url: meta(z.string().optional(), {
          description:
            'PostgreSQL URL: `jdbc:postgresql://host:5432/db` or `postgres://user:pass@host/db`. Unset: the embedded PostgreSQL.',
          envAliases: ['DATABASE_URL'],
        }),
        username: meta(z.string().optional(), { description: 'Database user.' }),
        password: meta(scalarString().optional(), { description: 'Database password.', sensitive: true }),
        driverClassName: ignoredSilently('JDBC driver class; node-postgres is the driver.'),
        hikari: hikariSchema,
      })
      .prefault({}),
    data: z
      .object({
        redis: z
          .object({
            url: meta(z.string().optional(), {
              description: 'Redis URL (`redis://[:password@]host:port[/db]`); wins over host/port.',
              envAliases: ['REDIS_URL'],
              sensitive: true,
            }),
            host: meta(z.string().optional(), {
              description: 'Redis host; unset (and no url): in-memory cache and buckets.',
            }),
            port: meta(port().default(6379), { description: 'Redis port.' }),
            username: meta(z.string().optional(), { description: 'Redis ACL user.' }),
            password: meta(scalarString().optional(), { description: 'Redis password.', sensitive: true }),
            database: meta(int(0, 15).default(0), { description: 'Redis database index.' }),
            timeout: meta(duration().default(2000), { description: 'Redis command timeout.' }),
          })
          .prefault({}),
      })
      .prefault({}),
    cache: z
      .object({
        type: meta(z.string().optional(), {
          description:
            '`redis` or `simple`/`none`; Redis is used whenever it is configured unless this says otherwise.',
        }),
        redis: z
          .object({
            timeToLive: meta(duration().default(3_600_000), { description: 'Lifetime of cached entries (ms).' }),
            cacheNullValues: meta(bool().default(false), { description: 'Whether empty results are cached.' }),
            keyPrefix: meta(z.string().default('globalmcp:'), { description: 'Prefix of cache keys in Redis.' }),
          })
          .prefault({}),
        cacheNames: meta(stringList().default([]), {
          description: 'Accepted for compatibility; caches are created as used.',
          ignored: 'silent',
        }),
      })
      .prefault({}),
    security: z
      .object({
        oauth2: z
          .object({
            resourceserver: z.object({ jwt: jwtResourceServerSchema }).prefault({}),
            client: ignoredWithWarning(
              'OAuth2 login (client registration) is not offered: the gateway is a resource server and only verifies tokens.',
            ),
          })
          .prefault({}),
      })
      .prefault({}),
    lifecycle: z
      .object({
        timeoutPerShutdownPhase: meta(duration().default(25_000), {
          description:
            'Time in-flight requests get to finish on SIGTERM once the listeners stop taking connections (after `mcp.shutdown.drain-delay`).',
        }),
      })
      .prefault({}),
    jpa: ignoredSilently(
      'Hibernate settings; the schema is managed by migrations (`ddl-auto` other than validate/none is warned about).',
    ),
    cloud: ignoredSilently(
      'Spring Cloud (Vault, Config); use ${VAR} interpolation fed by your secret manager instead. Warned about when Vault is enabled.',
    ),
    main: ignoredSilently('Spring application flags.'),
    jackson: ignoredSilently('JSON mapper flags.'),
    flyway: ignoredSilently('Use `mcp.database.migrate-on-start`.'),
    liquibase: ignoredSilently('Use `mcp.database.migrate-on-start`.'),
  })
  .prefault({});

export const appConfigSchema = z
  .object({
    server: z
      .object({
        port: meta(port().default(8080), {
          description: 'API listener (REST, Swagger UI, OpenAPI, MCP).',
          envAliases: ['PORT'],
        }),
        address: meta(z.string().default('0.0.0.0'), { description: 'Bind address of the API listener.' }),
        ssl: sslSchemaFor('the API', 'server.ssl'),
        maxRequestSize: meta(size().default(1024 * 1024), {
          description: 'Largest request body accepted (413 beyond).',
        }),
        shutdown: ignoredSilently('Shutdown is always graceful; see spring.lifecycle.timeout-per-shutdown-phase.'),
        servlet: ignoredSilently('Servlet container settings.'),
        tomcat: ignoredSilently('Tomcat settings.'),
        compression: ignoredSilently('Response compression belongs to the proxy in front.'),
        http2: ignoredSilently('HTTP/2 belongs to the proxy in front.'),
        error: ignoredSilently('Error pages; errors always use the JSON envelope.'),
      })
      .prefault({}),
    management: managementSchema,
    logging: loggingSchema,
    spring: springSchema,
    mcp: mcpSchema,
    info: meta(z.looseObject({}).optional(), { description: 'Extra fields shown by /actuator/info.' }),
  })
  .superRefine((config, ctx) => {
    // The console signs in at the resource server's issuer: a client id alone would offer a sign-in that cannot work.
    if (config.mcp.console.oauth2.clientId && !config.spring.security.oauth2.resourceserver.jwt.issuerUri) {
      ctx.addIssue({
        code: 'custom',
        path: ['mcp', 'console', 'oauth2', 'clientId'],
        message: 'needs spring.security.oauth2.resourceserver.jwt.issuer-uri: the console signs in at that issuer',
      });
    }
    // A virtual server composes servers of this file (those of the API are not known at load time).
    for (const [id, virtual] of Object.entries(config.mcp.virtualServers)) {
      if (Object.hasOwn(config.mcp.servers, id)) {
        ctx.addIssue({
          code: 'custom',
          path: ['mcp', 'virtualServers', id],
          message: `'${id}' is the id of a server in mcp.servers: a virtual server needs an id of its own`,
        });
      }
      for (const kind of ['tools', 'prompts', 'resources'] as const) {
        virtual[kind].forEach((member, index) => {
          if (Object.hasOwn(config.mcp.servers, member.server)) return;
          ctx.addIssue({
            code: 'custom',
            path: ['mcp', 'virtualServers', id, kind, index, 'server'],
            message: `unknown server '${member.server}': a member names a server of mcp.servers`,
          });
        });
      }
    }
  });

export type AppConfig = z.output<typeof appConfigSchema>;
