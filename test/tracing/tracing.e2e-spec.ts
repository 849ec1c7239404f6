import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ADMIN_HEADERS } from '../support/auth';
import { createTestDatabase, type TestDatabase } from '../support/test-database';
import { startTestGateway, type TestGateway } from '../support/test-gateway';
import { waitFor } from '../support/wait';
import { type OtlpReceiver, type ReceivedSpan, startOtlpReceiver } from './otlp-receiver';
import { startTracedHttpUpstream, type TracedHttpUpstream } from './traced-http-upstream';

const SERVER_KIND = 2;
const CLIENT_KIND = 3;
const STAGES = ['auth', 'validation', 'upstream tools/call', 'record'];

/** A caller's W3C trace context: a fresh trace id and the caller's own span id, sampled. */
function callerContext(): { traceId: string; spanId: string; traceparent: string } {
  const traceId = randomBytes(16).toString('hex');
  const spanId = randomBytes(8).toString('hex');
  return { traceId, spanId, traceparent: `00-${traceId}-${spanId}-01` };
}

describe('OpenTelemetry traces (tracing on, 100% sampling, OTLP/HTTP protobuf to a loopback receiver)', () => {
  let db: TestDatabase;
  let receiver: OtlpReceiver;
  let upstream: TracedHttpUpstream;
  let gateway: TestGateway;
  let api: string;
  let logDir: string;
  let logFile: string;

  const callEcho = (traceparent: string | undefined, body: unknown) =>
    fetch(`${api}/api/servers/upstream/tools/echo`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...ADMIN_HEADERS,
        ...(traceparent ? { traceparent } : {}),
      },
      body: JSON.stringify(body),
    });

  const spansOf = (traceId: string) => receiver.spans.filter((s) => s.traceId === traceId);
  const waitForSpans = (traceId: string, names: string[]) =>
    waitFor(
      () => names.every((name) => spansOf(traceId).some((s) => s.name === name)),
      15_000,
      `spans ${names.join(', ')} of trace ${traceId}`,
    );
  const serverSpanOf = (traceId: string): ReceivedSpan => {
    const span = spansOf(traceId).find((s) => s.kind === SERVER_KIND);
    if (!span) throw new Error(`no server span in trace ${traceId}`);
    return span;
  };
  const logLines = () =>
    readFileSync(logFile, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as Record<string, unknown>);

  beforeAll(async () => {
    db = await createTestDatabase('tracing');
    receiver = await startOtlpReceiver();
    upstream = await startTracedHttpUpstream();
    logDir = mkdtempSync(path.join(tmpdir(), 'globalmcp-tracing-'));
    logFile = path.join(logDir, 'gateway.log');
    gateway = await startTestGateway({
      databaseUrl: db.url,
      yaml: [
        'management:',
        '  tracing:',
        '    enabled: true',
        '    sampling:',
        '      probability: 1.0',
        '  otlp:',
        '    tracing:',
        `      endpoint: ${receiver.url}`,
        'logging:',
        '  level:',
        '    HttpRequest: INFO',
        '  file:',
        `    name: ${logFile}`,
        'mcp:',
        '  servers:',
        '    upstream:',
        '      type: http',
        `      url: ${upstream.url}`,
        '',
      ].join('\n'),
    });
    api = gateway.addresses.api;
    await waitFor(
      async () => {
        const res = await fetch(`${api}/api/servers/upstream/tools`, { headers: ADMIN_HEADERS });
        return res.ok && JSON.stringify(await res.json()).includes('echo');
      },
      30_000,
      'the upstream tools',
    );
  }, 60_000);

  afterAll(async () => {
    await gateway?.stop();
    await upstream?.close();
    await receiver?.close();
    await db?.drop();
    if (logDir) rmSync(logDir, { recursive: true, force: true });
  });

  it("continues the caller's trace: the request span is the caller's child, each stage span the request span's", async () => {
    const caller = callerContext();
    const res = await callEcho(caller.traceparent, { message: 'traced' });
    expect(res.status).toBe(200);
    await waitForSpans(caller.traceId, STAGES);

    const request = serverSpanOf(caller.traceId);
    expect(request.parentSpanId).toBe(caller.spanId);
    expect(request.name).toBe('POST /api/servers/:id/tools/:tool');
    expect(request.attributes).toMatchObject({
      'http.request.method': 'POST',
      'http.route': '/api/servers/:id/tools/:tool',
      'url.path': '/api/servers/upstream/tools/echo',
      'url.scheme': 'http',
      'http.response.status_code': 200,
      'mcp.server.id': 'upstream',
      'mcp.tool.name': 'echo',
    });
    expect(request.resource['service.name']).toBe('globalmcp');

    for (const name of STAGES) {
      const stage = spansOf(caller.traceId).find((s) => s.name === name);
      expect(stage?.parentSpanId).toBe(request.spanId);
      if (name !== 'auth')
        expect(stage?.attributes).toMatchObject({ 'mcp.server.id': 'upstream', 'mcp.tool.name': 'echo' });
    }
    expect(spansOf(caller.traceId).find((s) => s.name === 'upstream tools/call')?.kind).toBe(CLIENT_KIND);
    expect(receiver.contentTypes.every((type) => type === 'application/x-protobuf')).toBe(true);
  });

  it('sends the trace to the HTTP upstream: its tools/call carries a traceparent whose parent is the upstream span', async () => {
    const caller = callerContext();
    expect((await callEcho(caller.traceparent, { message: 'to the upstream' })).status).toBe(200);
    await waitForSpans(caller.traceId, ['upstream tools/call']);

    const upstreamSpan = spansOf(caller.traceId).find((s) => s.name === 'upstream tools/call');
    const received = upstream.requests.filter(
      (r) => r.method === 'tools/call' && r.traceparent?.includes(caller.traceId),
    );
    expect(received).toHaveLength(1);
    expect(received[0]?.traceparent).toBe(`00-${caller.traceId}-${upstreamSpan?.spanId}-01`);
  });

  it('starts a trace of its own for a caller without traceparent', async () => {
    const before = new Set(receiver.spans.map((s) => s.traceId));
    expect((await callEcho(undefined, { message: 'new trace' })).status).toBe(200);
    await waitFor(
      () => receiver.spans.some((s) => s.kind === SERVER_KIND && !before.has(s.traceId) && s.parentSpanId === ''),
      15_000,
      'a root request span',
    );
  });

  it('puts the trace id in the error envelope and marks the failed stage', async () => {
    const caller = callerContext();
    const res = await callEcho(caller.traceparent, { message: 42 });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { code: string; details: Record<string, unknown> } };
    expect(body.error.code).toBe('INVALID_PARAMETERS');
    expect(body.error.details.trace_id).toBe(caller.traceId);

    await waitForSpans(caller.traceId, ['validation']);
    const validation = spansOf(caller.traceId).find((s) => s.name === 'validation');
    expect(validation?.statusCode).toBe(2); // STATUS_CODE_ERROR
    expect(validation?.attributes['error.type']).toBe('INVALID_PARAMETERS');
    expect(serverSpanOf(caller.traceId).attributes['http.response.status_code']).toBe(400);
  });

  it("writes the trace id on the request's log lines", async () => {
    const caller = callerContext();
    const res = await callEcho(caller.traceparent, { message: 'logged' });
    expect(res.status).toBe(200);
    const requestId = res.headers.get('x-request-id');
    await waitFor(() => logLines().some((line) => line.request_id === requestId), 10_000, 'the request log line');
    const lines = logLines().filter((line) => line.request_id === requestId);
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) expect(line.trace_id).toBe(caller.traceId);
  });
});
