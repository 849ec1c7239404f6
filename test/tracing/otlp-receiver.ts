import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
// The OTLP messages as the OpenTelemetry project generates them (protobufjs), from the last otlp-transformer release
// that ships them: the receiver decodes what a collector would, not what our own code thinks it sent.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { opentelemetry } = require('otlp-transformer-protobuf/build/src/generated/root.js') as ProtoRoot;

interface ProtoRoot {
  opentelemetry: {
    proto: {
      collector: {
        trace: {
          v1: {
            ExportTraceServiceRequest: {
              decode(body: Uint8Array): unknown;
              toObject(message: unknown, options: Record<string, unknown>): ExportTraceServiceRequest;
            };
          };
        };
      };
    };
  };
}

interface KeyValue {
  key: string;
  value: { stringValue?: string; intValue?: string; boolValue?: boolean; doubleValue?: number };
}

interface ExportTraceServiceRequest {
  resourceSpans?: {
    resource?: { attributes?: KeyValue[] };
    scopeSpans?: {
      spans?: {
        traceId: string;
        spanId: string;
        parentSpanId?: string;
        name: string;
        kind: number;
        attributes?: KeyValue[];
        status?: { code?: number };
      }[];
    }[];
  }[];
}

/** One decoded span, ids as lower-case hex (as in `traceparent`), attributes as plain values. */
export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  /** OTLP SpanKind: 1 internal, 2 server, 3 client. */
  kind: number;
  attributes: Record<string, string | number | boolean | undefined>;
  statusCode: number;
  resource: Record<string, string | number | boolean | undefined>;
}

export interface OtlpReceiver {
  /** The traces URL to give the exporter (`.../v1/traces`). */
  url: string;
  spans: ReceivedSpan[];
  /** Content types of the export requests received. */
  contentTypes: string[];
  close(): Promise<void>;
}

const hex = (base64: string | undefined) => Buffer.from(base64 ?? '', 'base64').toString('hex');

function valuesOf(attributes: KeyValue[] | undefined): ReceivedSpan['attributes'] {
  const values: ReceivedSpan['attributes'] = {};
  for (const { key, value } of attributes ?? []) {
    values[key] =
      value.stringValue ?? (value.intValue !== undefined ? Number(value.intValue) : undefined) ?? value.boolValue;
    values[key] ??= value.doubleValue;
  }
  return values;
}

/** An OTLP/HTTP traces endpoint on loopback that decodes each protobuf ExportTraceServiceRequest it is sent. */
export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const spans: ReceivedSpan[] = [];
  const contentTypes: string[] = [];
  const { ExportTraceServiceRequest } = opentelemetry.proto.collector.trace.v1;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      contentTypes.push(String(req.headers['content-type']));
      const message = ExportTraceServiceRequest.toObject(ExportTraceServiceRequest.decode(Buffer.concat(chunks)), {
        longs: String,
        bytes: String,
      });
      for (const resourceSpans of message.resourceSpans ?? []) {
        const resource = valuesOf(resourceSpans.resource?.attributes);
        for (const scope of resourceSpans.scopeSpans ?? []) {
          for (const span of scope.spans ?? []) {
            spans.push({
              traceId: hex(span.traceId),
              spanId: hex(span.spanId),
              parentSpanId: hex(span.parentSpanId),
              name: span.name,
              kind: span.kind,
              attributes: valuesOf(span.attributes),
              statusCode: span.status?.code ?? 0,
              resource,
            });
          }
        }
      }
      // An empty ExportTraceServiceResponse: full success.
      res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1/traces`,
    spans,
    contentTypes,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
