// The soak's mixed load: bounded loops of REST calls on loopback, each call retried like the fault drill's client
// (test/faults/drill.e2e-spec.ts: up to 5 retries with the same arguments after a network error or a 5xx, 200 ms ×
// attempt apart), with every answered execution id kept for the comparison with the executions table.
import { performance } from 'node:perf_hooks';
import { sleep } from './common.mjs';

export const RETRIES = 5;
const REQUEST_TIMEOUT_MS = 30_000;

/**
 * Kinds of calls, what each does and how many loops run it. `rate` (calls/s for all its loops together) paces a kind;
 * without it a loop calls again as soon as it has its answer (after `pauseMs`).
 */
export function soakMix(echoRate) {
  return {
    echo: { loops: 8, rate: echoRate, what: "server-everything's echo, per-server route, API key" },
    'flaky-echo': { loops: 2, rate: 40, what: "the toolbox fixture's echo (its processes are SIGKILLed at random)" },
    slow: { loops: 2, what: "the toolbox fixture's sleep, 300 ms (the slower tool)" },
    hang: { loops: 1, pauseMs: 4000, what: "the toolbox fixture's hang with ?timeout=1000: exceeds it, 504 expected" },
    batch: { loops: 1, pauseMs: 500, what: 'POST /api/tools/batch: everything echo -> flaky echo, + everything echo' },
    job: { loops: 2, what: "server-everything's trigger-long-running-operation (2 s, 4 steps) as a job, polled" },
  };
}

function pacer(ratePerS) {
  const interval = 1000 / ratePerS;
  let next = performance.now();
  return async () => {
    const now = performance.now();
    // After a stall (a slow answer, a GC pause) no burst to catch up: at most 100 ms of backlog.
    next = Math.max(next, now - 100) + interval;
    if (next > now) await sleep(next - now);
  };
}

function newStats() {
  return {
    calls: 0,
    answered: 0,
    failed_after_retries: 0,
    retries: 0,
    first_try_errors: {},
    final_statuses: {},
    expected: 0,
    latencies: [],
  };
}

export class SoakLoad {
  constructor({ api, headers, mix, log }) {
    this.api = api;
    this.headers = { ...headers, 'content-type': 'application/json' };
    this.mix = mix;
    this.log = log;
    this.running = false;
    this.stats = Object.fromEntries(Object.keys(mix).map((k) => [k, newStats()]));
    /** Execution ids the API answered with (2xx), by kind: the list compared with the executions table. */
    this.ids = Object.fromEntries(Object.keys(mix).map((k) => [k, []]));
    /** Job ids and the final status their poll saw. */
    this.jobs = [];
    /** Failed calls' last status and error code, a few per kind, for the report. */
    this.failureSamples = [];
    /** GET /api/executions/{id} right after the answer, for one call in 100: records not visible yet. */
    this.lookups = { done: 0, not_found: 0, other: 0 };
    this.seq = 0;
  }

  async request(method, url, body) {
    const t0 = performance.now();
    try {
      const res = await fetch(`${this.api}${url}`, {
        method,
        headers: this.headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
      const json = await res.json().catch(() => null);
      return { status: res.status, body: json, ms: performance.now() - t0 };
    } catch (error) {
      return { status: 0, body: { error: { code: error?.name ?? 'network' } }, ms: performance.now() - t0 };
    }
  }

  /**
   * One call as a client would make it: `attempt()` resolves to { status, body, ok?, expected? }; a network error,
   * a 5xx that was not expected, or `retry: true` is tried again with the same arguments, up to RETRIES times.
   */
  async call(kind, attempt) {
    const s = this.stats[kind];
    s.calls++;
    const t0 = performance.now();
    let last;
    for (let n = 0; n <= RETRIES; n++) {
      last = await attempt();
      const bad = !last.expected && (last.status === 0 || last.status >= 500 || last.retry);
      if (n === 0 && (bad || (last.status >= 300 && !last.expected))) {
        const key = last.retry ? `${last.status} (partial)` : last.status;
        s.first_try_errors[key] = (s.first_try_errors[key] ?? 0) + 1;
      }
      if (!bad || !this.running) break;
      s.retries++;
      await sleep(200 * (n + 1));
    }
    s.final_statuses[last.status] = (s.final_statuses[last.status] ?? 0) + 1;
    const ok = last.expected || (last.status >= 200 && last.status < 300 && !last.retry);
    if (last.expected) s.expected++;
    if (ok) {
      s.answered++;
      s.latencies.push(performance.now() - t0);
    } else {
      s.failed_after_retries++;
      if (this.failureSamples.length < 50) {
        this.failureSamples.push({ kind, status: last.status, code: last.body?.error?.code ?? last.body?.status });
      }
    }
    return ok ? last : null;
  }

  async echo(kind, server) {
    const message = `soak-${kind}-${++this.seq}`;
    const path = `/api/servers/${server}/tools/echo`;
    const ok = await this.call(kind, () => this.request('POST', path, { message }));
    if (ok?.body?.execution_id) {
      this.ids[kind].push(ok.body.execution_id);
      if (this.seq % 100 === 0) await this.lookup(ok.body.execution_id);
    }
  }

  async lookup(id) {
    const r = await this.request('GET', `/api/executions/${id}`);
    this.lookups.done++;
    if (r.status === 404) this.lookups.not_found++;
    else if (r.status !== 200) this.lookups.other++;
  }

  async slow() {
    const ok = await this.call('slow', () => this.request('POST', '/api/servers/flaky/tools/sleep', { ms: 300 }));
    if (ok?.body?.execution_id) this.ids.slow.push(ok.body.execution_id);
  }

  async hang() {
    await this.call('hang', async () => {
      const r = await this.request('POST', '/api/servers/flaky/tools/hang?timeout=1000', {});
      return { ...r, expected: r.status === 504 };
    });
  }

  async batch() {
    const n = ++this.seq;
    const body = {
      executions: [
        { execution_id: 'a', server_id: 'everything', tool_name: 'echo', parameters: { message: `soak-batch-a-${n}` } },
        {
          execution_id: 'b',
          server_id: 'flaky',
          tool_name: 'echo',
          parameters: { message: `soak-batch-b-${n}` },
          depends_on: ['a'],
        },
        { execution_id: 'c', server_id: 'everything', tool_name: 'echo', parameters: { message: `soak-batch-c-${n}` } },
      ],
    };
    const ok = await this.call('batch', async () => {
      const r = await this.request('POST', '/api/tools/batch', body);
      // Steps that ran are on record even when the batch is partial (a step on a killed process): keep their ids.
      for (const step of r.body?.executions ?? []) if (step.record_id) this.ids.batch.push(step.record_id);
      return { ...r, retry: r.status === 200 && r.body?.status !== 'completed' };
    });
    return ok;
  }

  async job() {
    const path = '/api/servers/everything/tools/trigger-long-running-operation?mode=async&timeout=30000';
    const started = await this.call('job', () => this.request('POST', path, { duration: 2, steps: 4 }));
    const id = started?.body?.execution_id;
    if (!id) return;
    this.ids.job.push(id);
    const job = { id, status: 'running' };
    this.jobs.push(job);
    const deadline = performance.now() + 40_000;
    while (job.status === 'running' && performance.now() < deadline) {
      await sleep(500);
      const r = await this.request('GET', `/api/executions/${id}`);
      if (r.status === 200 && r.body?.status) job.status = r.body.status;
    }
  }

  /** Runs every loop until `stop()`; resolves when every loop has finished its call in flight. */
  start() {
    this.running = true;
    const loops = [];
    for (const [kind, spec] of Object.entries(this.mix)) {
      const pace = spec.rate ? pacer(spec.rate) : null;
      const one = {
        echo: () => this.echo('echo', 'everything'),
        'flaky-echo': () => this.echo('flaky-echo', 'flaky'),
        slow: () => this.slow(),
        hang: () => this.hang(),
        batch: () => this.batch(),
        job: () => this.job(),
      }[kind];
      for (let i = 0; i < spec.loops; i++) {
        loops.push(
          (async () => {
            while (this.running) {
              if (pace) await pace();
              if (!this.running) break;
              await one();
              if (spec.pauseMs) await sleep(spec.pauseMs);
            }
          })(),
        );
      }
    }
    this.done = Promise.all(loops);
    return this.done;
  }

  async stop() {
    this.running = false;
    await this.done;
  }

  /** Answered calls so far, all kinds (for the rate over time). */
  answeredTotal() {
    return Object.values(this.stats).reduce((sum, s) => sum + s.answered, 0);
  }

  firstTryErrorsTotal() {
    return Object.values(this.stats).reduce(
      (sum, s) => sum + Object.values(s.first_try_errors).reduce((a, b) => a + b, 0),
      0,
    );
  }
}
