import { z } from 'zod';
import { bool, duration, ignoredSilently, meta, num, port, scalarString, stringList } from './config-types';

// The `management.*` keys (and the TLS settings both listeners share) of the configuration schema (config.schema.ts).

export const sslSchemaFor = (what: string, prefix: string) =>
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

export const managementSchema = z
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
