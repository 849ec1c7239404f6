import { z } from 'zod';
import { SERVER_ID_PATTERN } from 'src/common/patterns';
import { bool, duration, int, meta, num, port, scalarString, scalarStringList, size, stringList } from './config-types';
import { policyRuleSchema } from './policy-rule.schema';
import { upstreamAuthSchema } from './upstream-auth.schema';

/** Values of PostgreSQL's `synchronous_commit`, and `database` for the server's own setting. */
export const SYNCHRONOUS_COMMIT_MODES = ['off', 'local', 'remote_write', 'on', 'remote_apply', 'database'] as const;
export type SynchronousCommitMode = (typeof SYNCHRONOUS_COMMIT_MODES)[number];

/**
 * The one declaration of every configuration key: type, default, description and sensitivity. The loader, the
 * environment-variable binding, the docs generator (`npm run config:docs`) and secret masking all read it.
 *
 * Keys are camelCase here; files may use Spring's kebab-case (`default-timeout`), camelCase or snake_case: the
 * loader maps them (relaxed binding). Keys the Java edition had that mean nothing here are accepted with
 * `ignored`, so the deployment guide's files load unchanged.
 */

const ignoredSilently = (description: string) => meta(z.unknown().optional(), { description, ignored: 'silent' });
const ignoredWithWarning = (description: string) => meta(z.unknown().optional(), { description, ignored: 'warn' });

export const SERVER_TYPES = ['stdio', 'http', 'sse'] as const;

export const serverEntrySchema = z
  .object({
    type: meta(
      z.preprocess(
        (v) => (typeof v === 'string' && ['streamable-http', 'streamablehttp'].includes(v.toLowerCase()) ? 'http' : v),
        z.enum(SERVER_TYPES, { error: `expected one of ${SERVER_TYPES.join(', ')}` }),
      ),
      { description: 'Transport: `stdio` (a local process), `http` (Streamable HTTP) or `sse` (legacy HTTP+SSE).' },
    ),
    name: meta(z.string().max(200).optional(), { description: 'Display name; defaults to the id.' }),
    description: meta(z.string().max(2000).optional(), { description: 'Free text shown in the API.' }),
    command: meta(z.string().min(1).optional(), { description: 'stdio: the program to run.' }),
    args: meta(scalarStringList().default([]), {
      description: 'stdio: its arguments (a list; from an environment variable, comma-separated).',
    }),
    workingDirectory: meta(z.string().optional(), {
      description: 'stdio: the working directory of the process (also accepted as `working-dir`, `cwd`).',
    }),
    environment: meta(z.record(z.string(), scalarString()).default({}), {
      description: 'stdio: extra environment variables for the process (values are secrets: masked everywhere).',
      sensitive: true,
    }),
    url: meta(z.url({ protocol: /^https?$/, error: 'expected an http:// or https:// URL' }).optional(), {
      description: 'http/sse: the endpoint URL.',
    }),
    headers: meta(z.record(z.string(), scalarString()).default({}), {
      description: 'http/sse: headers sent with every request (values are secrets: masked everywhere).',
      sensitive: true,
    }),
    timeout: meta(duration().optional(), {
      description: 'Per-call timeout for this server; defaults to `mcp.client.default-timeout`.',
    }),
    enabled: meta(bool().default(true), { description: 'A disabled server is listed but not connected.' }),
    required: meta(bool().default(false), {
      description: 'Readiness waits for this server to be connected.',
    }),
    poolSize: meta(int(1, 10_000).optional(), {
      description: 'Connections kept to this server; defaults to `mcp.client.pool.core-size`, capped by `max-size`.',
    }),
    auth: meta(upstreamAuthSchema.optional(), {
      description: 'http/sse: how the gateway authenticates upstream (docs/security.md, "Upstream credentials").',
    }),
  })
  .superRefine((server, ctx) => {
    if (server.type === 'stdio' && !server.command) {
      ctx.addIssue({ code: 'custom', path: ['command'], message: 'a stdio server needs a command' });
    }
    if ((server.type === 'http' || server.type === 'sse') && !server.url) {
      ctx.addIssue({ code: 'custom', path: ['url'], message: `an ${server.type} server needs a url` });
    }
    if (server.type === 'stdio' && server.auth && server.auth.mode !== 'static') {
      ctx.addIssue({
        code: 'custom',
        path: ['auth', 'mode'],
        message: `${server.auth.mode} is for http/sse servers; a stdio server gets its credentials from its environment`,
      });
    }
  });

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
const sslSchemaFor = (what: string, prefix: string) =>
  z
    .object({
      enabled: meta(bool().default(false), { description: `Serve ${what} over TLS.` }),
      keyStore: meta(z.string().optional(), {
        description:
          'PKCS12 key store path (`classpath:` and `file:` prefixes are resolved against the config directory).',
      }),
      keyStorePassword: meta(scalarString().optional(), { description: 'Password of the key store.', sensitive: true }),
      keyStoreType: meta(z.string().default('PKCS12'), {
        description: 'PKCS12 (PEM via certificate/certificate-private-key).',
      }),
      keyAlias: meta(z.string().optional(), { description: 'Accepted; a PKCS12 file with one key needs no alias.' }),
      keyPassword: meta(scalarString().optional(), {
        description: 'Password of the private key, when different.',
        sensitive: true,
      }),
      certificate: meta(z.string().optional(), { description: 'PEM certificate (chain) path.' }),
      certificatePrivateKey: meta(z.string().optional(), { description: 'PEM private key path.' }),
      protocol: meta(z.string().default('TLS'), { description: 'Accepted; use enabled-protocols.' }),
      enabledProtocols: meta(stringList().default(['TLSv1.3', 'TLSv1.2']), { description: 'TLS versions offered.' }),
      ciphers: meta(stringList().default([]), {
        description: 'Cipher suites (IANA or OpenSSL names); empty: Node defaults.',
      }),
      clientAuth: meta(z.enum(['none', 'want', 'need']).default('none'), {
        description: `Client certificates (mutual TLS): \`need\` refuses a connection without one signed by a CA of \`${prefix}.trust-store\`/\`trust-certificate\`; \`want\` asks for one and refuses an untrusted one.`,
      }),
      trustStore: meta(z.string().optional(), {
        description:
          'CAs of accepted client certificates: a PEM bundle, or a PKCS12 trust store (read with the `openssl` command).',
      }),
      trustStorePassword: meta(scalarString().optional(), {
        description: 'Password of a PKCS12 trust store.',
        sensitive: true,
      }),
      trustStoreType: meta(z.string().optional(), {
        description: 'PKCS12 or PEM; unset: PEM when the file starts with `-----BEGIN`, else PKCS12.',
      }),
      trustCertificate: meta(z.string().optional(), {
        description: 'PEM CA certificate(s) of accepted client certificates (instead of trust-store).',
      }),
    })
    .prefault({});

const managementSchema = z
  .object({
    server: z
      .object({
        port: meta(port().default(8081), {
          description: 'Management listener (health, info, metrics, prometheus).',
          envAliases: ['MANAGEMENT_PORT'],
        }),
        address: meta(z.string().optional(), {
          description: 'Bind address of the management listener; defaults to `server.address`.',
        }),
        ssl: sslSchemaFor(
          'the management and Prometheus scrape listeners (own key material; `server.ssl` is not inherited)',
          'management.server.ssl',
        ),
      })
      .prefault({}),
    prometheus: z
      .object({
        port: meta(port().default(9090), {
          description:
            'Prometheus scrape listener serving /actuator/prometheus; 0 serves it on the management port only.',
          envAliases: ['METRICS_PORT'],
        }),
      })
      .prefault({}),
    endpoints: z
      .object({
        web: z
          .object({
            exposure: z
              .object({
                include: meta(stringList().default(['health', 'info', 'metrics', 'prometheus']), {
                  description:
                    'Actuator endpoints served: health, info, metrics, prometheus (`*` for all). Health probes are always served.',
                }),
                exclude: meta(stringList().default([]), { description: 'Endpoints removed from `include`.' }),
              })
              .prefault({}),
            basePath: meta(z.string().default('/actuator'), { description: 'Prefix of the actuator endpoints.' }),
          })
          .prefault({}),
      })
      .prefault({}),
    endpoint: z
      .object({
        health: z
          .object({
            showDetails: meta(z.enum(['never', 'when-authorized', 'always']).default('when-authorized'), {
              description: 'Whether /actuator/health shows component details.',
            }),
            showComponents: meta(z.enum(['never', 'when-authorized', 'always']).optional(), {
              description: 'Whether component names and statuses are shown; defaults to show-details.',
            }),
            probes: z
              .object({ enabled: meta(bool().default(true), { description: 'Liveness/readiness/startup groups.' }) })
              .prefault({}),
            group: z
              .object({
                readiness: z
                  .object({
                    include: meta(stringList().default([]), {
                      description:
                        'Health components readiness also waits for (e.g. `db,redis`). By default readiness is the ' +
                        "replica's own state only (started, migrations applied, required servers up, not draining): a " +
                        'shared dependency in it takes every replica out of the balancer at once when it blips.',
                    }),
                  })
                  .prefault({}),
              })
              .prefault({}),
          })
          .prefault({}),
        configprops: ignoredSilently(
          'Spring `/actuator/configprops` settings; that endpoint is not offered (use `--validate-config`).',
        ),
        info: ignoredSilently('Per-endpoint switch of the Java edition; use `management.endpoints.web.exposure`.'),
        prometheus: ignoredSilently(
          'Per-endpoint switch of the Java edition; use `management.endpoints.web.exposure`.',
        ),
        metrics: ignoredSilently('Per-endpoint switch of the Java edition; use `management.endpoints.web.exposure`.'),
      })
      .prefault({}),
    tracing: z
      .object({
        enabled: meta(bool().default(false), {
          description:
            'OpenTelemetry traces: a span per request with child spans per call stage, exported over OTLP/HTTP. ' +
            '`OTEL_SDK_DISABLED=true` turns them off too.',
        }),
        sampling: z
          .object({
            probability: meta(
              num(0)
                .refine((p) => p <= 1, 'expected a number from 0.0 to 1.0')
                .optional(),
              {
                description:
                  'Share of new traces sampled (0.0–1.0); a caller that sends a sampled `traceparent` is followed. ' +
                  'Unset: `OTEL_TRACES_SAMPLER`/`OTEL_TRACES_SAMPLER_ARG` when set, else 0.1 (as Spring Boot).',
              },
            ),
          })
          .prefault({}),
      })
      .prefault({}),
    otlp: z
      .object({
        tracing: z
          .object({
            endpoint: meta(z.url({ protocol: /^https?$/, error: 'expected an http:// or https:// URL' }).optional(), {
              description:
                'OTLP/HTTP traces URL (`http://collector:4318/v1/traces`). Unset: `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, ' +
                'else `OTEL_EXPORTER_OTLP_ENDPOINT` + `/v1/traces`, else `http://localhost:4318/v1/traces`.',
            }),
            headers: meta(z.record(z.string(), scalarString()).optional(), {
              description:
                'Headers sent with every export (values are secrets: masked everywhere), over `OTEL_EXPORTER_OTLP_HEADERS`.',
              sensitive: true,
            }),
            timeout: meta(duration().optional(), {
              description: 'Timeout of one export. Unset: `OTEL_EXPORTER_OTLP_TIMEOUT`, else 10s.',
            }),
            compression: meta(z.enum(['none', 'gzip']).optional(), {
              description: 'Compression of export bodies. Unset: `OTEL_EXPORTER_OTLP_COMPRESSION`, else none.',
            }),
          })
          .prefault({}),
      })
      .prefault({}),
    metrics: meta(z.looseObject({}).optional(), {
      description:
        'Micrometer settings of the Java edition (export, meter binders); Prometheus export is always on here.',
      ignored: 'silent',
    }),
    health: meta(z.looseObject({}).optional(), {
      description: 'Per-indicator switches of the Java edition.',
      ignored: 'silent',
    }),
    info: meta(z.looseObject({}).optional(), {
      description: 'Info contributors of the Java edition.',
      ignored: 'silent',
    }),
  })
  .prefault({});

const tierSchema = z.object({
  requestsPerMinute: int(1),
  burstCapacity: int(1),
});

const securitySchema = z
  .object({
    jwt: z
      .object({
        secret: meta(z.string().optional(), {
          description: 'HS256 shared secret for bearer tokens; at least 32 bytes outside the development profile.',
          sensitive: true,
          envAliases: ['JWT_SECRET'],
        }),
        expiration: meta(int(1).default(3600), { description: 'Lifetime in seconds of tokens the gateway issues.' }),
        issuer: meta(z.string().optional(), { description: 'Required `iss` of HS256 tokens, when set.' }),
        audience: meta(z.string().optional(), { description: 'Required `aud` of HS256 tokens, when set.' }),
        clockSkew: meta(duration().default(30_000), { description: 'Tolerance for exp/nbf/iat checks.' }),
      })
      .prefault({}),
    rateLimiting: z
      .object({
        enabled: meta(bool().default(true), { description: 'Token-bucket rate limiting per principal.' }),
        requestsPerMinute: meta(int(1).default(1000), { description: "Refill rate of a principal's bucket." }),
        burstCapacity: meta(int(1).default(2000), { description: 'Bucket size (requests allowed at once).' }),
        tiers: meta(
          z.record(z.string(), tierSchema).default({
            free: { requestsPerMinute: 100, burstCapacity: 20 },
            pro: { requestsPerMinute: 500, burstCapacity: 100 },
            enterprise: { requestsPerMinute: 2000, burstCapacity: 500 },
          }),
          { description: 'Limits by API-key tier (`requests-per-minute`, `burst-capacity`).' },
        ),
      })
      .prefault({}),
    stdio: z
      .object({
        allowedCommands: meta(stringList().default([]), {
          description:
            'Commands a `stdio` server registered through the API may run; empty disables stdio registration through the API.',
        }),
      })
      .prefault({}),
    allowedUpstreamHosts: meta(stringList().default([]), {
      description:
        'Hosts or CIDRs that http/sse servers registered through the API may point at; empty allows any but link-local/metadata addresses.',
    }),
    adminApiKey: meta(z.string().optional(), {
      description: 'Bootstrap admin API key; when unset one is generated on first start and printed once.',
      sensitive: true,
      envAliases: ['GLOBALMCP_ADMIN_API_KEY'],
    }),
    encryptionKey: meta(z.string().optional(), {
      description: 'Key (base64, 32 bytes) for secrets at rest; when unset one is generated under the data dir.',
      sensitive: true,
      envAliases: ['GLOBALMCP_ENCRYPTION_KEY'],
    }),
    cors: z
      .object({
        allowedOrigins: meta(stringList().default([]), { description: 'Origins allowed by CORS; empty closes CORS.' }),
      })
      .prefault({}),
  })
  .prefault({});

const clientSchema = z
  .object({
    defaultTimeout: meta(duration().default(30_000), {
      description: 'Timeout of an upstream call (ms) when neither the call nor its server sets one.',
    }),
    maxConcurrentConnections: meta(int(1).default(100), {
      description: 'Upstream calls in flight at once, gateway-wide.',
    }),
    maxResultSize: meta(size().default(10 * 1024 * 1024), { description: 'Largest upstream result accepted (bytes).' }),
    retry: z
      .object({
        maxAttempts: meta(int(0).default(3), { description: 'Fast reconnect attempts before slow retries.' }),
        backoffMultiplier: meta(num(1).default(2), { description: 'Growth factor between reconnect attempts.' }),
        initialInterval: meta(duration().default(1000), { description: 'First reconnect delay (ms).' }),
        maxInterval: meta(duration().default(60_000), { description: 'Longest reconnect delay (ms).' }),
      })
      .prefault({}),
    pool: z
      .object({
        coreSize: meta(int(1).default(1), {
          description: 'Connections per server unless the server sets `pool-size`.',
        }),
        maxSize: meta(int(1).default(16), { description: "Upper bound of any server's pool." }),
        keepAlive: meta(duration().default(60_000), { description: 'Idle HTTP sessions are closed after this.' }),
        queueCapacity: meta(int(0).default(10_000), { description: 'Calls waiting for a free slot; beyond it 503.' }),
      })
      .prefault({}),
  })
  .prefault({});

const mcpSchema = z
  .object({
    client: clientSchema,
    security: securitySchema,
    servers: meta(
      z
        .record(
          z
            .string()
            .regex(
              SERVER_ID_PATTERN,
              'a server id is 1-64 letters, digits, `_`, `.` or `-`, starting with a letter or digit',
            ),
          serverEntrySchema,
        )
        .nullish()
        .transform((v) => v ?? {}),
      {
        description:
          'MCP servers by id. Each entry: type, command, args, url, headers, timeout, enabled, environment, ...',
      },
    ),
    dataDir: meta(z.string().default('./data'), {
      description: 'Where the default start keeps its embedded PostgreSQL, generated keys and similar state.',
      envAliases: ['GLOBALMCP_DATA_DIR'],
    }),
    database: z
      .object({
        migrateOnStart: meta(bool().default(true), { description: 'Run pending migrations at boot.' }),
        embedded: z
          .object({
            port: meta(port().default(0), { description: 'Port of the embedded PostgreSQL; 0 picks a free one.' }),
          })
          .prefault({}),
      })
      .prefault({}),
    registry: z
      .object({
        reconcileInterval: meta(duration().default(30_000), {
          description:
            'Full reconcile of the servers registered through the API with the database (ms), besides LISTEN/NOTIFY; 0 turns it off.',
        }),
      })
      .prefault({}),
    executions: z
      .object({
        retentionDays: meta(int(1).default(30), { description: 'Execution records older than this are deleted.' }),
        synchronousCommit: meta(z.enum(SYNCHRONOUS_COMMIT_MODES).default('off'), {
          description:
            "PostgreSQL's `synchronous_commit` for the writes of finished execution records, which every answer waits " +
            'for. `off`: the answer leaves once PostgreSQL has committed the record (readable at once; survives any ' +
            'crash of the gateway and a restart of PostgreSQL; a crash of PostgreSQL or its host loses at most the ' +
            'last ~3 × `wal_writer_delay` of records). `on`/`remote_write`/`remote_apply`/`local`: it also waits for ' +
            "the WAL flush (and standbys) as PostgreSQL defines them, at the cost of the disk's flush latency per " +
            "group of records (ADR 0008). `database`: the database's own setting.",
        }),
        heartbeatInterval: meta(duration().default(10_000), {
          description:
            'How often a gateway process records that it is alive and interrupts the `running` executions of processes that are not (ms).',
        }),
        orphanAfter: meta(duration().default(60_000), {
          description:
            'A process whose last heartbeat is older than this is dead: its `running` executions become `interrupted` (ms).',
        }),
      })
      .prefault({}),
    webhooks: z
      .object({
        enabled: meta(bool().default(true), {
          description:
            'Run the webhook delivery worker in this process (every replica may: each delivery is claimed by one).',
        }),
        pollInterval: meta(duration().default(1000), {
          description: 'How often the worker looks for due deliveries (ms); deliveries written here wake it at once.',
        }),
        timeout: meta(duration().default(10_000), { description: 'Timeout of one delivery attempt (ms).' }),
        maxAttempts: meta(int(1).default(10), {
          description: 'Attempts of a delivery before it is marked failed.',
        }),
        initialBackoff: meta(duration().default(1000), { description: 'Delay before the first retry (ms).' }),
        backoffMultiplier: meta(num(1).default(2), { description: 'Growth factor between retries.' }),
        maxBackoff: meta(duration().default(3_600_000), { description: 'Longest delay between retries (ms).' }),
        batchSize: meta(int(1).default(20), {
          description: 'Deliveries one worker claims and sends at once.',
        }),
        retentionDays: meta(int(1).default(30), {
          description: 'Finished deliveries (delivered or failed) older than this are deleted with their attempts.',
        }),
      })
      .prefault({}),
    openapi: z
      .object({
        anonymousTools: meta(bool().default(false), {
          description:
            'List the per-tool operations (every server, tool and schema) in /v3/api-docs and Swagger UI for callers without a credential. Off: only a caller presenting one sees them, cut to what it may call (Swagger UI reloads the document after Authorize).',
        }),
      })
      .prefault({}),
    console: z
      .object({
        oauth2: z
          .object({
            clientId: meta(
              z
                .string()
                .regex(/^[\x21-\x7e]{1,255}$/, '1-255 printable ASCII characters without spaces')
                .optional(),
              {
                description:
                  'Public OAuth2 client (no secret) of the web console at the issuer of ' +
                  '`spring.security.oauth2.resourceserver.jwt.issuer-uri`: with both set, /console offers sign-in with ' +
                  'the authorization code flow and PKCE (S256). Register `<gateway URL>/console` as its redirect URI.',
              },
            ),
            scopes: meta(
              stringList()
                .pipe(z.array(z.string().regex(/^[\x21\x23-\x5b\x5d-\x7e]+$/, 'a scope has no spaces or quotes')))
                .default(['openid', 'mcp:read', 'mcp:write', 'mcp:admin']),
              {
                description:
                  "Scopes the console asks for; the issuer grants what the user may have, and the token's scopes decide what the console shows.",
              },
            ),
            resource: meta(z.url().optional(), {
              description:
                "Resource indicator (RFC 8707) sent with the authorization and token requests, for issuers that pick the token's audience from it.",
            }),
          })
          .prefault({}),
      })
      .prefault({}),
    policy: z
      .object({
        defaultEffect: meta(z.enum(['allow', 'deny']).default('allow'), {
          description:
            'What a tool call or listing gets when no policy rule applies: `allow` (scopes and allow-lists still apply) or `deny` (only tools some allow rule covers).',
        }),
        rules: meta(
          z
            .array(policyRuleSchema)
            .default([])
            .refine((rules) => new Set(rules.map((r) => r.id)).size === rules.length, 'rule ids must be unique'),
          {
            description:
              'Tool-level rules (id, effect, server, tool pattern, when, unless), applied before those added through /api/policy/rules; see docs/security.md.',
          },
        ),
      })
      .prefault({}),
    reload: z
      .object({
        enabled: meta(bool().default(true), {
          description:
            'Watch the config files (and their directories: ConfigMap symlink swaps) and apply `mcp.servers` changes without a restart. SIGHUP reloads either way.',
        }),
        debounce: meta(duration().default(500), {
          description: 'Quiet period after the last file event before the files are read again (ms).',
        }),
      })
      .prefault({}),
    shutdown: z
      .object({
        drainDelay: meta(duration().default(5_000), {
          description:
            'On SIGTERM, how long the listeners keep serving after readiness turns OUT_OF_SERVICE, so that a balancer ' +
            'checking readiness every few seconds stops sending before connections are refused. 0 stops at once.',
        }),
      })
      .prefault({}),
    endpoint: z
      .object({
        enabled: meta(bool().default(true), {
          description:
            'Serve the MCP front door: `/mcp` (aggregated), `/mcp/{server_id}`, and the legacy `/sse` + `/messages` pair.',
        }),
        separator: meta(
          z
            .string()
            .regex(/^[A-Za-z0-9_.-]{1,8}$/, 'one to eight letters, digits, `_`, `.` or `-` (valid in MCP tool names)')
            .default('__'),
          {
            description:
              'Joins server id and upstream name on `/mcp`: `<server_id><separator><name>` for tools and prompts.',
          },
        ),
        sessionIdleTimeout: meta(duration().default(1_800_000), {
          description: 'An MCP session with no request for this long expires (ms); its next request gets 404.',
        }),
        maxSessions: meta(int(1).default(10_000), {
          description:
            'Live MCP sessions across the replicas sharing a Redis (per process without Redis); beyond: 503.',
        }),
        forwardClientCapabilities: meta(bool().default(true), {
          description:
            'Announce sampling, elicitation and roots to upstreams, so their requests reach the MCP client whose call is in flight.',
        }),
        dnsRebindingProtection: meta(bool().default(true), {
          description:
            'On a loopback bind, refuse MCP requests whose Host is not a loopback name or whose Origin is not a loopback origin (403).',
        }),
        allowedHosts: meta(stringList().default([]), {
          description: 'Further Host values (`name:port`) accepted by the DNS-rebinding check.',
        }),
        allowedOrigins: meta(stringList().default([]), {
          description: 'Further Origin values (`scheme://name:port`) accepted by the DNS-rebinding check.',
        }),
        ssePollAfter: meta(duration().default(30_000), {
          description:
            'MCP 2025-11-25 clients: a call still running after this long has its event stream closed; the client ' +
            'resumes with GET + Last-Event-ID and gets what it missed (ms, 0: never).',
        }),
        listTtl: meta(duration().default(10_000), {
          description:
            'MCP 2026-07-28: how long a client may reuse `server/discover` and the tool, prompt, resource and ' +
            'resource-template lists (`ttlMs`, ms). 0: not cacheable. A catalog change within it is seen at the next fetch.',
        }),
        readTtl: meta(duration().default(0), {
          description:
            'MCP 2026-07-28: how long a client may reuse a `resources/read` result (`ttlMs`, ms). 0: read again each time.',
        }),
        cacheScope: meta(z.enum(['auto', 'private', 'public']).default('auto'), {
          description:
            'MCP 2026-07-28 `cacheScope` of lists and reads: `auto` is `private` (per caller) when the request carries a ' +
            'credential, since allow-lists, scopes and tool rules shape what it sees, and `public` without authentication.',
        }),
      })
      .prefault({}),
  })
  .prefault({});

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
  });

export type AppConfig = z.output<typeof appConfigSchema>;
export type ServerEntry = z.output<typeof serverEntrySchema>;
export type ServerType = (typeof SERVER_TYPES)[number];
