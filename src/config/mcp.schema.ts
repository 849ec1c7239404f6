import { z } from 'zod';
import { SERVER_ID_PATTERN } from 'src/common/patterns';
import { bool, duration, int, meta, num, port, scalarString, scalarStringList, size, stringList } from './config-types';
import { mcpEndpointSchema } from './mcp-endpoint.schema';
import { policyRuleSchema } from './policy-rule.schema';
import { upstreamAuthSchema } from './upstream-auth.schema';
import { virtualServerIdSchema, virtualServerSchema } from './virtual-server.schema';

// The `mcp.*` keys of the configuration schema (config.schema.ts): servers, client, security, and the gateway's own.

/** Values of PostgreSQL's `synchronous_commit`, and `database` for the server's own setting. */
export const SYNCHRONOUS_COMMIT_MODES = ['off', 'local', 'remote_write', 'on', 'remote_apply', 'database'] as const;
export type SynchronousCommitMode = (typeof SYNCHRONOUS_COMMIT_MODES)[number];

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

export const mcpSchema = z
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
    virtualServers: meta(
      z
        .record(virtualServerIdSchema, virtualServerSchema)
        .nullish()
        .transform((v) => v ?? {}),
      {
        description:
          'Virtual servers by id: tools, prompts and resources of the `mcp.servers` entries under names of their own (tools: server, tool, name, description, fixed_arguments; prompts; resources), served at /mcp/{id} and /api/virtual-servers/{id}; see docs/api.md.',
      },
    ),
    dataDir: meta(z.string().default('./data'), {
      description: 'Where the default start keeps its embedded PostgreSQL, generated keys and similar state.',
      envAliases: ['GLOBALMCP_DATA_DIR'],
    }),
    runtime: z
      .object({
        heapGrowthPercent: meta(int(0, 400).default(25), {
          description:
            'How far V8 lets the old generation grow past what the last full collection kept before it collects again ' +
            "(V8's `--heap-growing-percent`, applied at start). 25 keeps the gateway's RSS level under load (within " +
            "a few per cent over the soak instead of a 100+ MB saw tooth); 0 leaves it to V8's own heuristic, which " +
            'grows the heap up to several times its live size between collections (docs/benchmarks.md, Soak).',
        }),
      })
      .prefault({}),
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
    endpoint: mcpEndpointSchema,
  })
  .prefault({});

export type ServerEntry = z.output<typeof serverEntrySchema>;
export type ServerType = (typeof SERVER_TYPES)[number];
