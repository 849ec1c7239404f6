import { appConfigSchema } from 'src/config/config.schema';
import { DEFAULT_SAMPLING_PROBABILITY, samplingFromEnv, tracingSettingsFrom } from './tracing.settings';

const configWith = (management: Record<string, unknown>, spring: Record<string, unknown> = {}) =>
  appConfigSchema.parse({ management, spring });

describe('tracingSettingsFrom', () => {
  it('is off by default, whatever OTEL variables say', () => {
    expect(tracingSettingsFrom(configWith({}), { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' })).toBeNull();
  });

  it('is off when OTEL_SDK_DISABLED is true even with management.tracing.enabled', () => {
    const config = configWith({ tracing: { enabled: true } });
    expect(tracingSettingsFrom(config, { OTEL_SDK_DISABLED: 'TRUE' })).toBeNull();
    expect(tracingSettingsFrom(config, { OTEL_SDK_DISABLED: 'false' })).not.toBeNull();
  });

  it("maps Spring Boot's keys: probability (parent-based), endpoint, headers, timeout, compression", () => {
    const config = configWith({
      tracing: { enabled: 'true', sampling: { probability: '0.25' } },
      otlp: {
        tracing: {
          endpoint: 'http://collector:4318/v1/traces',
          headers: { authorization: 'Bearer x' },
          timeout: '5s',
          compression: 'gzip',
        },
      },
    });
    expect(tracingSettingsFrom(config, {})).toEqual({
      serviceName: 'globalmcp',
      sampling: { kind: 'ratio', probability: 0.25, parentBased: true },
      exporter: {
        url: 'http://collector:4318/v1/traces',
        headers: { authorization: 'Bearer x' },
        timeoutMillis: 5000,
        compression: 'gzip',
      },
    });
  });

  it("leaves exporter fields unset for the SDK's OTEL_EXPORTER_OTLP_* variables and defaults", () => {
    const settings = tracingSettingsFrom(configWith({ tracing: { enabled: true } }), {});
    expect(settings?.exporter).toEqual({});
  });

  it('takes the service name from OTEL_SERVICE_NAME, else spring.application.name', () => {
    const config = configWith({ tracing: { enabled: true } }, { application: { name: 'gw-eu' } });
    expect(tracingSettingsFrom(config, {})?.serviceName).toBe('gw-eu');
    expect(tracingSettingsFrom(config, { OTEL_SERVICE_NAME: 'gw-otel' })?.serviceName).toBe('gw-otel');
  });

  it('prefers management.tracing.sampling.probability over OTEL_TRACES_SAMPLER', () => {
    const config = configWith({ tracing: { enabled: true, sampling: { probability: 1 } } });
    expect(tracingSettingsFrom(config, { OTEL_TRACES_SAMPLER: 'always_off' })?.sampling).toEqual({
      kind: 'ratio',
      probability: 1,
      parentBased: true,
    });
  });

  it('refuses a probability above 1', () => {
    expect(() => configWith({ tracing: { sampling: { probability: 1.5 } } })).toThrow();
  });
});

describe('samplingFromEnv', () => {
  it("defaults to Spring Boot's 0.1, parent-based", () => {
    expect(samplingFromEnv({})).toEqual({
      kind: 'ratio',
      probability: DEFAULT_SAMPLING_PROBABILITY,
      parentBased: true,
    });
  });

  it('reads the samplers of the OTel specification', () => {
    expect(samplingFromEnv({ OTEL_TRACES_SAMPLER: 'always_on' })).toEqual({
      kind: 'always',
      on: true,
      parentBased: false,
    });
    expect(samplingFromEnv({ OTEL_TRACES_SAMPLER: 'parentbased_always_off' })).toEqual({
      kind: 'always',
      on: false,
      parentBased: true,
    });
    expect(samplingFromEnv({ OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.5' })).toEqual({
      kind: 'ratio',
      probability: 0.5,
      parentBased: false,
    });
    expect(samplingFromEnv({ OTEL_TRACES_SAMPLER: 'parentbased_traceidratio' })).toEqual({
      kind: 'ratio',
      probability: 1,
      parentBased: true,
    });
  });

  it('falls back to the default on an unknown sampler or a bad ratio', () => {
    const fallback = { kind: 'ratio', probability: DEFAULT_SAMPLING_PROBABILITY, parentBased: true };
    expect(samplingFromEnv({ OTEL_TRACES_SAMPLER: 'jaeger_remote' })).toEqual(fallback);
    expect(samplingFromEnv({ OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '2' })).toEqual(fallback);
  });
});
