import type { AppConfig } from 'src/config/config.schema';

/**
 * How traces are sampled: a share of trace ids, or all / none. Parent-based (Spring Boot's way, and the default here):
 * a request whose caller sent a `traceparent` follows the caller's decision; the rule applies to new traces only.
 */
export type TraceSampling =
  { kind: 'ratio'; probability: number; parentBased: boolean } | { kind: 'always'; on: boolean; parentBased: boolean };

/**
 * What the tracer is built from. Exporter fields left undefined are the OTel SDK's to resolve from the standard
 * `OTEL_EXPORTER_OTLP_*` variables (it reads them itself), then from its defaults.
 */
export interface TracingSettings {
  serviceName: string;
  sampling: TraceSampling;
  exporter: {
    url?: string;
    headers?: Record<string, string>;
    timeoutMillis?: number;
    compression?: 'none' | 'gzip';
  };
}

/** Spring Boot's default `management.tracing.sampling.probability`. */
export const DEFAULT_SAMPLING_PROBABILITY = 0.1;

type Env = Readonly<Record<string, string | undefined>>;

/**
 * Maps `management.tracing.*` and `management.otlp.tracing.*` (Spring Boot's Micrometer tracing keys) over the
 * standard OTel variables to the tracer's settings; null when tracing is off (the default, or
 * `OTEL_SDK_DISABLED=true`). A key that is set wins over its variable, as an explicit setting should.
 */
export function tracingSettingsFrom(config: AppConfig, env: Env): TracingSettings | null {
  const { tracing, otlp } = config.management;
  if (!tracing.enabled || env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return null;
  const exporter = otlp.tracing;
  return {
    serviceName: nonEmpty(env.OTEL_SERVICE_NAME) ?? config.spring.application.name,
    sampling:
      tracing.sampling.probability !== undefined
        ? { kind: 'ratio', probability: tracing.sampling.probability, parentBased: true }
        : samplingFromEnv(env),
    exporter: {
      ...(exporter.endpoint !== undefined ? { url: exporter.endpoint } : {}),
      ...(exporter.headers !== undefined ? { headers: { ...exporter.headers } } : {}),
      ...(exporter.timeout !== undefined ? { timeoutMillis: exporter.timeout } : {}),
      ...(exporter.compression !== undefined ? { compression: exporter.compression } : {}),
    },
  };
}

/**
 * `OTEL_TRACES_SAMPLER` (+ `OTEL_TRACES_SAMPLER_ARG`) as the OTel specification defines them; an unknown sampler or
 * a bad ratio falls back to Spring Boot's default probability rather than failing the start.
 */
export function samplingFromEnv(env: Env): TraceSampling {
  const sampler = nonEmpty(env.OTEL_TRACES_SAMPLER)?.toLowerCase();
  const fallback: TraceSampling = { kind: 'ratio', probability: DEFAULT_SAMPLING_PROBABILITY, parentBased: true };
  switch (sampler) {
    case 'always_on':
      return { kind: 'always', on: true, parentBased: false };
    case 'always_off':
      return { kind: 'always', on: false, parentBased: false };
    case 'parentbased_always_on':
      return { kind: 'always', on: true, parentBased: true };
    case 'parentbased_always_off':
      return { kind: 'always', on: false, parentBased: true };
    case 'traceidratio':
    case 'parentbased_traceidratio': {
      // The specification's default ratio for these samplers is 1.0.
      const arg = nonEmpty(env.OTEL_TRACES_SAMPLER_ARG);
      const probability = arg === undefined ? 1 : Number(arg);
      return Number.isFinite(probability) && probability >= 0 && probability <= 1
        ? { kind: 'ratio', probability, parentBased: sampler === 'parentbased_traceidratio' }
        : fallback;
    }
    case undefined:
    default:
      return fallback;
  }
}

function nonEmpty(value: string | undefined): string | undefined {
  const text = value?.trim();
  return text ? text : undefined;
}
