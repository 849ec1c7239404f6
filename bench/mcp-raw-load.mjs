// Raw JSON-RPC load on an MCP Streamable HTTP endpoint, run as its own process by bench/mcp-endpoint.mjs: autocannon
// (programmatic API) POSTs `tools/call` messages built by hand, with a unique JSON-RPC id each (`setupRequest`); no
// MCP SDK client in the load generator, which capped near 1,400 calls/s by itself (STACK-NOTES).
//
//   node bench/mcp-raw-load.mjs '<json options>' <output.json>
//
// Options: { url, headers, protocol: '2025-11-25' | '2026-07-28', tool: 'echo', steps: [...], cpuPid? } where a step
// is { name, connections, seconds } or { name, connections: 1, amount } (as bench/gateway-load.mjs), `mark: true`
// printing the step's window on the monotonic clock for the CPU profile.
//
//   - 2025-11-25: ONE session per run: `initialize` + `notifications/initialized` once, then every connection sends
//     its calls with that `Mcp-Session-Id`. Per run, not per connection, because supergateway --stateful and mcp-proxy
//     spawn a stdio child per session: 16 sessions would put 16 server-everything processes behind each relay and one
//     behind the gateway (its sessions share the configured pool), i.e. not the same upstream any more.
//   - 2026-07-28: stateless, no initialize: each request carries the protocol version, client capabilities and client
//     info in `params._meta` and the `Mcp-Method` / `Mcp-Name` / `MCP-Protocol-Version` headers.
//
// Every answer is classified (JSON or an event stream): an `echo` result counts as ok, a JSON-RPC error or anything
// else is counted; non-2xx statuses are autocannon's own count. One call is checked by hand before the first step.
import { writeFileSync } from 'node:fs';
import autocannon from 'autocannon';
import { cpuUs, statusMb, summarize } from './lib/common.mjs';

const options = JSON.parse(process.argv[2] ?? '{}');
const output = process.argv[3];
const PROTOCOL = options.protocol ?? '2025-11-25';
const TOOL = options.tool ?? 'echo';
const MESSAGE = 'hello';
const EXPECTED = `Echo: ${MESSAGE}`;
const url = new URL(options.url);
const META = {
  'io.modelcontextprotocol/protocolVersion': PROTOCOL,
  'io.modelcontextprotocol/clientCapabilities': {},
  'io.modelcontextprotocol/clientInfo': { name: 'globalmcp-bench-raw', version: '1.0.0' },
};

let nextId = 1;
const callBody = (id) =>
  JSON.stringify({
    jsonrpc: '2.0',
    id,
    method: 'tools/call',
    params: {
      name: TOOL,
      arguments: { message: MESSAGE },
      ...(PROTOCOL === '2026-07-28' ? { _meta: META } : {}),
    },
  });

/** The JSON-RPC messages of an answer: one JSON body, or the `data:` lines of an event stream. */
function messagesOf(text, contentType = '') {
  if (contentType.startsWith('text/event-stream') || /^(event|data|id|retry):/m.test(text.slice(0, 64))) {
    return text
      .split('\n')
      .filter((line) => line.startsWith('data:'))
      .map((line) => line.slice(5).trim())
      .filter(Boolean)
      .map((data) => JSON.parse(data));
  }
  return text.trim() ? [JSON.parse(text)] : [];
}

/** 'ok' | 'rpc_error' | 'unexpected' for one answer's text. */
function classify(text, contentType) {
  // Fast path (every answer under load): the echo text and a result member, without parsing.
  if (text.includes(EXPECTED) && text.includes('"result"') && !text.includes('"isError":true')) return 'ok';
  try {
    const response = messagesOf(text, contentType).find((m) => 'result' in m || 'error' in m);
    if (response?.error) return 'rpc_error';
    if (response?.result?.content?.[0]?.text === EXPECTED && !response.result.isError) return 'ok';
  } catch {
    // not JSON: unexpected
  }
  return 'unexpected';
}

const baseHeaders = {
  'content-type': 'application/json',
  accept: 'application/json, text/event-stream',
  ...options.headers,
};

async function post(headers, body) {
  const res = await fetch(url, { method: 'POST', headers: { ...baseHeaders, ...headers }, body: JSON.stringify(body) });
  const text = await res.text();
  return { res, text, messages: text ? messagesOf(text, res.headers.get('content-type') ?? '') : [] };
}

/** The headers of every measured call: the session's (2025) or the stateless request's (2026). */
async function openProtocol() {
  if (PROTOCOL === '2026-07-28') {
    return { 'mcp-protocol-version': PROTOCOL, 'mcp-method': 'tools/call', 'mcp-name': TOOL };
  }
  const init = await post(
    {},
    {
      jsonrpc: '2.0',
      id: 0,
      method: 'initialize',
      params: {
        protocolVersion: PROTOCOL,
        capabilities: {},
        clientInfo: { name: 'globalmcp-bench-raw', version: '1.0.0' },
      },
    },
  );
  const sessionId = init.res.headers.get('mcp-session-id');
  const version = init.messages.find((m) => m.result)?.result?.protocolVersion;
  if (init.res.status !== 200 || !sessionId || !version) {
    throw new Error(`initialize failed: ${init.res.status} session=${sessionId} ${init.text.slice(0, 300)}`);
  }
  const headers = { 'mcp-session-id': sessionId, 'mcp-protocol-version': version };
  const initialized = await post(headers, { jsonrpc: '2.0', method: 'notifications/initialized' });
  if (initialized.res.status >= 300) throw new Error(`notifications/initialized: ${initialized.res.status}`);
  result.session = { id_length: sessionId.length, protocol_version: version };
  return headers;
}

async function checkByHand(headers) {
  const answer = await post(headers, JSON.parse(callBody(nextId++)));
  const verdict = classify(answer.text, answer.res.headers.get('content-type') ?? '');
  if (answer.res.status !== 200 || verdict !== 'ok') {
    throw new Error(`tools/call ${TOOL} failed (${verdict}): ${answer.res.status} ${answer.text.slice(0, 400)}`);
  }
  result.checked = { status: answer.res.status, content_type: answer.res.headers.get('content-type') };
}

function runStep(step, headers) {
  return new Promise((resolve, reject) => {
    const latencies = [];
    const counts = { ok: 0, rpc_error: 0, unexpected: 0 };
    const cpuBefore = options.cpuPid ? cpuUs(options.cpuPid) : null;
    const instance = autocannon(
      {
        url: url.origin,
        connections: step.connections,
        pipelining: 1,
        timeout: 10,
        ...(step.amount ? { amount: step.amount } : { duration: step.seconds }),
        requests: [
          {
            method: 'POST',
            path: url.pathname + url.search,
            headers: { ...baseHeaders, ...headers },
            setupRequest: (req) => ({ ...req, body: callBody(nextId++) }),
            onResponse: (status, body, _context, responseHeaders) => {
              if (status >= 200 && status < 300) counts[classify(String(body), responseHeaders['content-type'])]++;
            },
          },
        ],
      },
      (error, r) => {
        if (error) return reject(error);
        const cpuAfter = options.cpuPid ? cpuUs(options.cpuPid) : null;
        const completed = r.requests.total;
        resolve({
          name: step.name,
          connections: step.connections,
          seconds: r.duration,
          completed,
          rps: Math.round(completed / r.duration),
          non2xx: r.non2xx,
          errors: r.errors,
          timeouts: r.timeouts,
          rpc_ok: counts.ok,
          rpc_errors: counts.rpc_error,
          unexpected: counts.unexpected,
          latency: summarize(latencies),
          ...(cpuBefore !== null && cpuAfter !== null && completed > 0
            ? { cpu_us_per_call: Math.round((cpuAfter - cpuBefore) / completed) }
            : {}),
          ...(options.cpuPid ? { rss_mb: safeRss(options.cpuPid) } : {}),
        });
      },
    );
    instance.on('response', (_client, _status, _bytes, responseTime) => latencies.push(responseTime));
  });
}

function safeRss(pid) {
  try {
    return statusMb(pid);
  } catch {
    return null;
  }
}

const result = { url: options.url, protocol: PROTOCOL, tool: TOOL, steps: [] };
try {
  const headers = await openProtocol();
  await checkByHand(headers);
  for (const step of options.steps ?? []) {
    if (step.mark) process.stdout.write(`MARK start ${step.name} ${process.hrtime.bigint() / 1000n}\n`);
    const measured = await runStep(step, headers);
    if (step.mark) process.stdout.write(`MARK end ${step.name} ${process.hrtime.bigint() / 1000n}\n`);
    result.steps.push(measured);
  }
  if (result.session) {
    // Close the session as a client would (DELETE); a relay that does not support it answers 405, which is fine.
    await fetch(url, { method: 'DELETE', headers: { ...baseHeaders, ...headers } }).catch(() => undefined);
  }
} catch (error) {
  result.error = String(error?.stack ?? error);
}
writeFileSync(output, JSON.stringify(result, null, 2));
process.exit(result.error ? 1 : 0);
