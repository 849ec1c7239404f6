// GATEWAY load generator, run as its own process by bench/run.mjs: autocannon (programmatic API) against the REST API.
//
//   node bench/gateway-load.mjs '<json options>' <output.json>
//
// Options: { url, paths: ['/api/servers/everything/tools/echo', ...], steps: [...], cpuPid? } where a step is
//   { name, connections, seconds }  (a timed run)  or  { name, connections: 1, amount }  (a fixed number of requests).
// With `cpuPid`, each step also reports the CPU time that process used during the step per completed call
// (`cpu_us_per_call`, from /proc: the server's own cost, whatever the scheduler did to its wall-clock time).
// Latency is taken per response from autocannon's 'response' event (fractional ms): its own histogram rounds to
// whole milliseconds, too coarse for sub-millisecond medians.
import { writeFileSync } from 'node:fs';
import autocannon from 'autocannon';
import { cpuUs, summarize } from './lib/common.mjs';

const options = JSON.parse(process.argv[2] ?? '{}');
const output = process.argv[3];
// The per-server route's body is the tool's arguments themselves (echo's `message`), no wrapper.
const body = JSON.stringify({ message: 'hello' });
const paths = options.paths ?? ['/api/servers/everything/tools/echo'];

function runStep(step) {
  return new Promise((resolve, reject) => {
    const latencies = [];
    const statuses = {};
    const cpuBefore = options.cpuPid ? cpuUs(options.cpuPid) : null;
    const instance = autocannon(
      {
        url: options.url,
        method: 'POST',
        headers: { 'content-type': 'application/json', ...options.headers },
        // One request template per path: every connection cycles through them (round robin over servers).
        requests: paths.map((path) => ({ method: 'POST', path, body })),
        connections: step.connections,
        pipelining: 1,
        ...(step.amount ? { amount: step.amount } : { duration: step.seconds }),
        timeout: 10,
      },
      (error, result) => {
        if (error) return reject(error);
        const seconds = result.duration;
        const cpuAfter = options.cpuPid ? cpuUs(options.cpuPid) : null;
        const completed = result.requests.total;
        resolve({
          name: step.name,
          connections: step.connections,
          seconds,
          completed: result.requests.total,
          rps: Math.round(result.requests.total / seconds),
          non2xx: result.non2xx,
          errors: result.errors,
          timeouts: result.timeouts,
          statuses,
          latency: summarize(latencies),
          ...(cpuBefore !== null && cpuAfter !== null && completed > 0
            ? { cpu_us_per_call: Math.round((cpuAfter - cpuBefore) / completed) }
            : {}),
        });
      },
    );
    instance.on('response', (_client, statusCode, _bytes, responseTime) => {
      latencies.push(responseTime);
      statuses[statusCode] = (statuses[statusCode] ?? 0) + 1;
    });
  });
}

const result = { url: options.url, paths, steps: [] };
try {
  // One request first, checked by hand: the benchmark must measure successful echo calls, not fast errors.
  const check = await fetch(new URL(paths[0], options.url), {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...options.headers },
    body,
  });
  const checked = await check.json();
  if (check.status !== 200 || checked?.result?.content?.[0]?.text !== 'Echo: hello') {
    throw new Error(`echo through the gateway failed: ${check.status} ${JSON.stringify(checked)}`);
  }
  for (const step of options.steps ?? []) {
    if (step.mark) process.stdout.write(`MARK start ${step.name} ${process.hrtime.bigint() / 1000n}\n`);
    const measured = await runStep(step);
    if (step.mark) process.stdout.write(`MARK end ${step.name} ${process.hrtime.bigint() / 1000n}\n`);
    result.steps.push(measured);
  }
} catch (error) {
  result.error = String(error?.stack ?? error);
}
writeFileSync(output, JSON.stringify(result, null, 2));
process.exit(result.error ? 1 : 0);
