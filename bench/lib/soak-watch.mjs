// What the soak watches while the load runs: the gateway's memory and handles every ~10 s, its stdio processes per
// server every second (never above the pool size), and the chaos: SIGKILL of a random process of the flaky server.
import { readdirSync } from 'node:fs';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { cpuUs, killIfSame, round1, sleep, statusMb } from './common.mjs';
import { childrenByServer } from './soak-gateway.mjs';

/** prom-client's default metrics of the gateway, from its management port: heap, external memory, handles. */
async function gatewayMetrics(gw) {
  try {
    const res = await fetch(`${gw.mgmt}/actuator/prometheus`, { signal: AbortSignal.timeout(3000) });
    const text = await res.text();
    const value = (name) => {
      const m = new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+-]+)$`, 'm').exec(text);
      return m ? Number(m[1]) : null;
    };
    const mb = (v) => (v === null ? null : round1(v / 2 ** 20));
    return {
      heap_used_mb: mb(value('nodejs_heap_size_used_bytes')),
      heap_total_mb: mb(value('nodejs_heap_size_total_bytes')),
      external_mb: mb(value('nodejs_external_memory_bytes')),
      active_handles: value('nodejs_active_handles_total'),
    };
  } catch {
    return {};
  }
}

function openFds(pid) {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return null;
  }
}

/**
 * Samples every `intervalMs` (RSS from /proc, heap and handles from the gateway's metrics, open descriptors, CPU,
 * stdio processes and zombies per server, answered calls) and counts the processes per server every second.
 */
export class SoakWatch {
  constructor({ gw, load, intervalMs, t0, log }) {
    Object.assign(this, { gw, load, intervalMs, t0, log });
    this.samples = [];
    this.procChecks = 0;
    this.maxProcs = Object.fromEntries(gw.servers.map((s) => [s.id, 0]));
    /** 1-second checks in which a server had more live processes than its pool size. */
    this.overPool = [];
    this.running = false;
  }

  elapsedS() {
    return round1((performance.now() - this.t0) / 1000);
  }

  checkProcesses() {
    const by = childrenByServer(this.gw);
    this.procChecks++;
    for (const s of this.gw.servers) {
      const n = by[s.id].live.length;
      if (n > this.maxProcs[s.id]) this.maxProcs[s.id] = n;
      if (n > s.poolSize && this.overPool.length < 100) this.overPool.push({ t_s: this.elapsedS(), server: s.id, n });
    }
    return by;
  }

  async sample() {
    const by = this.checkProcesses();
    const now = performance.now();
    const cpu = cpuUs(this.gw.pid);
    const answered = this.load.answeredTotal();
    const prev = this.last;
    const sample = {
      t_s: this.elapsedS(),
      rss_mb: statusMb(this.gw.pid),
      ...(await gatewayMetrics(this.gw)),
      open_fds: openFds(this.gw.pid),
      cpu_pct: prev && cpu !== null ? Math.round(((cpu - prev.cpu) / ((now - prev.now) * 1000)) * 100) : null,
      calls_per_s: prev ? Math.round(((answered - prev.answered) * 1000) / (now - prev.now)) : null,
      answered,
      first_try_errors: this.load.firstTryErrorsTotal(),
      processes: Object.fromEntries(Object.entries(by).map(([id, v]) => [id, v.live.length])),
      zombies: Object.values(by).reduce((sum, v) => sum + v.zombies, 0),
      // The machine is shared: its load average shows what else ran beside the soak.
      loadavg_1m: Math.round(os.loadavg()[0] * 100) / 100,
    };
    this.last = { cpu, now, answered };
    this.samples.push(sample);
    this.log(
      `t=${sample.t_s}s rss ${sample.rss_mb} MB heap ${sample.heap_used_mb} MB fds ${sample.open_fds} ` +
        `cpu ${sample.cpu_pct ?? '-'}% ${sample.calls_per_s ?? '-'} calls/s processes ${JSON.stringify(sample.processes)}`,
    );
    return sample;
  }

  /** Runs until `stop()`: a sample every intervalMs, a process count every second in between. */
  start() {
    this.running = true;
    this.done = (async () => {
      let nextSample = performance.now();
      while (this.running) {
        if (performance.now() >= nextSample) {
          nextSample += this.intervalMs;
          await this.sample();
        } else {
          this.checkProcesses();
        }
        await sleep(1000);
      }
    })();
  }

  async stop() {
    this.running = false;
    await this.done;
  }
}

/**
 * The crashes: every `minS`–`maxS` seconds (uniformly at random), SIGKILL of one live stdio process of `serverId`,
 * picked at random, by PID (checked against its start time). Records how long the pool took to be full again.
 */
export class Chaos {
  constructor({ gw, serverId, minS, maxS, t0, log, random = Math.random }) {
    Object.assign(this, { gw, serverId, minS, maxS, t0, log, random });
    this.kills = [];
    this.running = false;
  }

  start() {
    this.running = true;
    const pool = this.gw.servers.find((s) => s.id === this.serverId).poolSize;
    this.done = (async () => {
      while (this.running) {
        const waitMs = (this.minS + this.random() * (this.maxS - this.minS)) * 1000;
        const until = performance.now() + waitMs;
        while (this.running && performance.now() < until) await sleep(Math.min(500, until - performance.now()));
        if (!this.running) break;
        const live = childrenByServer(this.gw)[this.serverId].live;
        if (live.length === 0) continue;
        const victim = live[Math.floor(this.random() * live.length)];
        const at = performance.now();
        const killed = killIfSame({ ...victim });
        const kill = { t_s: round1((at - this.t0) / 1000), pid: victim.pid, killed, refilled_ms: null };
        this.kills.push(kill);
        // How long until the pool has its size again with a new process (bounded: 30 s).
        while (this.running && performance.now() - at < 30_000) {
          const now = childrenByServer(this.gw)[this.serverId].live;
          if (now.length >= pool && !now.some((p) => p.pid === victim.pid)) {
            kill.refilled_ms = Math.round(performance.now() - at);
            break;
          }
          await sleep(50);
        }
        this.log(`chaos: SIGKILL ${this.serverId} pid ${victim.pid}; pool full again after ${kill.refilled_ms} ms`);
      }
    })();
  }

  async stop() {
    this.running = false;
    await this.done;
  }
}
