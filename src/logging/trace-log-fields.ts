import { context, isSpanContextValid, trace } from '@opentelemetry/api';

/** Keys of the trace in a log line, beside `request_id` (as in the error envelope's `details.trace_id`). */
export const TRACE_ID_LOG_KEY = 'trace_id';
export const SPAN_ID_LOG_KEY = 'span_id';

/**
 * pino `mixin`: the trace and span of the active OpenTelemetry context, so every line logged while a traced request
 * or call runs can be found from its trace (and the trace from the line). Installed only when tracing is on. A new
 * object each time: pino merges the line's own fields into it.
 */
export function traceLogFields(): Record<string, string> {
  const span = trace.getSpan(context.active());
  if (!span) return {};
  const spanContext = span.spanContext();
  if (!isSpanContextValid(spanContext)) return {};
  return { [TRACE_ID_LOG_KEY]: spanContext.traceId, [SPAN_ID_LOG_KEY]: spanContext.spanId };
}
