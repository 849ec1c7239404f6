import { Logger } from '@nestjs/common';
import {
  type Attributes,
  context,
  diag,
  DiagLogLevel,
  type DiagLogger,
  propagation,
  type Span,
  SpanKind,
  SpanStatusCode,
  trace,
  type Tracer,
} from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { detectResources, envDetector, resourceFromAttributes } from '@opentelemetry/resources';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BatchSpanProcessor,
  ParentBasedSampler,
  type Sampler,
  TraceIdRatioBasedSampler,
  TracerProvider,
} from '@opentelemetry/sdk-trace';
import { ATTR_ERROR_TYPE, ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';
import type { TraceSampling, TracingSettings } from './tracing.settings';

/** Span attributes naming the MCP server and tool of a call. */
export const ATTR_MCP_SERVER_ID = 'mcp.server.id';
export const ATTR_MCP_TOOL_NAME = 'mcp.tool.name';

/** The attributes of a call's stage spans. Build them only when {@link Tracing.enabled}. */
export function toolAttributes(serverId: string, toolName: string): Attributes {
  return { [ATTR_MCP_SERVER_ID]: serverId, [ATTR_MCP_TOOL_NAME]: toolName };
}

/**
 * The gateway's tracer: a span per HTTP request (see request-tracing.ts) and a child span per stage of a call, exported
 * over OTLP/HTTP (protobuf) in batches. Callers test {@link enabled} before they build anything for a span, so a
 * gateway with tracing off allocates no span, attribute object or closure per call.
 *
 * The SDK is registered globally (context manager, W3C propagator, provider): the engine's HTTP transports inject
 * `traceparent` through `@opentelemetry/api` without knowing this module, and log lines read the active span.
 */
export class Tracing {
  private static readonly off = new Tracing(undefined, undefined);

  private constructor(
    private readonly tracer: Tracer | undefined,
    private readonly provider: TracerProvider | undefined,
  ) {}

  /** Tracing off: every method is a no-op (also the default of the stages' constructors, for unit tests). */
  static disabled(): Tracing {
    return Tracing.off;
  }

  /** Builds and registers the SDK from `settings`; null settings (tracing off) give the disabled instance. */
  static start(settings: TracingSettings | null, version: string): Tracing {
    if (!settings) return Tracing.off;
    const provider = new TracerProvider({
      resource: detectResources({ detectors: [envDetector] }).merge(
        resourceFromAttributes({ [ATTR_SERVICE_NAME]: settings.serviceName, [ATTR_SERVICE_VERSION]: version }),
      ),
      sampler: samplerOf(settings.sampling),
      spanProcessors: [new BatchSpanProcessor({ exporter: new OTLPTraceExporter(exporterConfigOf(settings)) })],
    });
    diag.setLogger(diagLogger(), DiagLogLevel.WARN);
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    trace.setGlobalTracerProvider(provider);
    return new Tracing(provider.getTracer('globalmcp', version), provider);
  }

  get enabled(): boolean {
    return this.tracer !== undefined;
  }

  /** The tracer of request spans; undefined when tracing is off. */
  get requestTracer(): Tracer | undefined {
    return this.tracer;
  }

  /**
   * Runs `run` in a child span of the active one, active while it runs (so an upstream request made inside carries
   * this span as the parent in its `traceparent`); the span ends when `run` returns or its promise settles, with an
   * error status when it throws or rejects. Call it only when {@link enabled}.
   */
  inStage<T>(name: string, attributes: Attributes | undefined, run: () => T, kind: SpanKind = SpanKind.INTERNAL): T {
    const tracer = this.tracer;
    if (!tracer) return run();
    const parent = context.active();
    const span = tracer.startSpan(name, { kind, attributes }, parent);
    let result: T;
    try {
      result = context.with(trace.setSpan(parent, span), run);
    } catch (error) {
      endFailed(span, error);
      throw error;
    }
    if (isPromiseLike(result)) {
      void result.then(
        () => span.end(),
        (error: unknown) => endFailed(span, error),
      );
    } else span.end();
    return result;
  }

  /** Names the server and tool on the active span (the request's), once the call has resolved them. */
  annotateActive(serverId: string, toolName: string): void {
    trace.getActiveSpan()?.setAttributes(toolAttributes(serverId, toolName));
  }

  /** Exports what is buffered and unregisters the SDK (a later start in the same process registers anew). */
  async shutdown(): Promise<void> {
    if (!this.provider) return;
    try {
      await this.provider.shutdown();
    } finally {
      trace.disable();
      propagation.disable();
      context.disable();
      diag.disable();
    }
  }
}

/** Records why a span's work failed: the error's code (an AppException's) or class as `error.type`. */
export function endFailed(span: Span, error: unknown): void {
  const code = (error as { code?: unknown } | null)?.code;
  const type = typeof code === 'string' ? code : error instanceof Error ? error.name : 'error';
  span.setAttribute(ATTR_ERROR_TYPE, type);
  span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
  span.end();
}

/**
 * The SDK's own warnings and errors (an export the collector refused or never answered, a full span queue) in the
 * gateway's log; without a diag logger they are dropped silently.
 */
function diagLogger(): DiagLogger {
  const logger = new Logger('Tracing');
  const ignore = () => undefined;
  return {
    error: (message, ...args) => logger.error([message, ...args.map(String)].join(' ')),
    warn: (message, ...args) => logger.warn([message, ...args.map(String)].join(' ')),
    info: ignore,
    debug: ignore,
    verbose: ignore,
  };
}

function isPromiseLike<T>(value: T): value is T & PromiseLike<unknown> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}

type ExporterConfig = NonNullable<ConstructorParameters<typeof OTLPTraceExporter>[0]>;

function exporterConfigOf({ exporter }: TracingSettings): ExporterConfig {
  const { compression, ...rest } = exporter;
  // The exporter's CompressionAlgorithm is a string enum whose values are exactly 'none' and 'gzip'.
  return compression === undefined ? rest : { ...rest, compression: compression as ExporterConfig['compression'] };
}

function samplerOf(sampling: TraceSampling): Sampler {
  const root =
    sampling.kind === 'ratio'
      ? new TraceIdRatioBasedSampler(sampling.probability)
      : sampling.on
        ? new AlwaysOnSampler()
        : new AlwaysOffSampler();
  return sampling.parentBased ? new ParentBasedSampler({ root }) : root;
}
