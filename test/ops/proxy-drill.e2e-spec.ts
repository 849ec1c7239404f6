import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../support/ports';
import { isAlive } from '../support/processes';
import { createTestDatabase, type TestDatabase } from '../support/test-database';
import { apiFetch, startChildGateway, waitFor, type ChildGateway } from './live-support';
import { OPS, requireTool, run } from './ops-tools';

/**
 * Live drill (deployment guide, high availability): three built gateways (`node dist/src/main.js`, one shared
 * database) behind the repo's ops/nginx/nginx.conf, rewritten to loopback ports (temp prefix, pid and logs; TLS
 * left out: the drill is about upstream failover). Under a bounded load one gateway is killed with SIGKILL: no
 * request may fail, because NGINX passes an idempotent request a dead replica refused or dropped to the next one.
 *
 * ops/scripts/dr-test.sh's drill is in dr-drill.e2e-spec.ts.
 */

const TOTAL_REQUESTS = 300;
const CONCURRENCY = 8;
const DURATION_MS = 5_000;
const KILL_AFTER = 120;
const PATHS = ['/api/servers', '/api/tools', '/api/health'];

describe('live drill: three gateways behind NGINX, one killed under load', () => {
  let nginx: string | undefined;
  let db: TestDatabase;
  let gateways: ChildGateway[] = [];
  let tmp: string;
  let nginxProcess: ChildProcess | undefined;
  let proxy: string;
  let nginxOutput = '';

  beforeAll(async () => {
    nginx = requireTool('nginx', 'nginx');
    if (!nginx) return;
    db = await createTestDatabase('drill');
    gateways = await Promise.all([0, 1, 2].map(() => startChildGateway({ databaseUrl: db.url })));
    tmp = mkdtempSync(path.join(os.tmpdir(), 'globalmcp-drill-'));
    chmodSync(tmp, 0o755); // NGINX workers (nobody, when run as root) may need its temp directories
    const proxyPort = await freePort();
    const redirectPort = await freePort();
    let api = 0;
    let management = 0;
    const conf = readFileSync(path.join(OPS, 'nginx', 'nginx.conf'), 'utf8')
      .replace(/^(\s*)user\s+[^;]+;/m, '$1# user removed for the drill')
      .replace(/^(\s*)worker_processes\s+[^;]+;/m, '$1worker_processes 1;')
      .replace(/^(\s*)pid\s+[^;]+;/m, `$1pid ${tmp}/nginx.pid;`)
      .replace(/(error_log|access_log)\s+\/var\/log\/nginx\/([\w.-]+)/g, `$1 ${tmp}/$2`)
      .replace(/server\s+10\.0\.1\.\d+:8080/g, () => `server 127.0.0.1:${gateways[api++]!.ports.api}`)
      .replace(/server\s+10\.0\.1\.\d+:8081/g, () => `server 127.0.0.1:${gateways[management++]!.ports.management}`)
      .replace(/listen\s+80;/, `listen 127.0.0.1:${redirectPort};`)
      .replace(/listen\s+443 ssl[^;]*;/, `listen 127.0.0.1:${proxyPort};`)
      .replace(/^\s*ssl_[a-z_]+\s+[^;]+;\n/gm, '');
    expect([api, management]).toEqual([3, 3]);
    const confFile = path.join(tmp, 'nginx.conf');
    writeFileSync(confFile, conf);
    const check = run(nginx, ['-t', '-p', `${tmp}/`, '-c', confFile], { timeoutMs: 30_000 });
    expect(check.output).toContain('test is successful');
    nginxProcess = spawn(nginx, ['-p', `${tmp}/`, '-c', confFile, '-g', 'daemon off;'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    nginxProcess.stdout!.on('data', (d: Buffer) => (nginxOutput += d.toString()));
    nginxProcess.stderr!.on('data', (d: Buffer) => (nginxOutput += d.toString()));
    proxy = `http://127.0.0.1:${proxyPort}`;
    await waitFor(async () => (await apiFetch(`${proxy}/api/servers`)).status === 200, 15_000, 'NGINX to proxy');
  }, 180_000);

  afterAll(async () => {
    const pid = nginxProcess?.pid;
    if (pid && nginxProcess!.exitCode === null) {
      const exited = new Promise((r) => nginxProcess!.once('exit', r));
      process.kill(pid, 'SIGQUIT'); // graceful stop of the master we started (and its workers)
      const timer = setTimeout(() => isAlive(pid) && process.kill(pid, 'SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    await Promise.all(gateways.map((g) => g.stop()));
    await db?.drop();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('serves every request (all 2xx) while one of three gateways is SIGKILLed mid-way', async () => {
    if (!nginx) return;
    const victim = gateways[1]!;
    const statuses: number[] = [];
    const failures: string[] = [];
    let issued = 0;
    let killedAt = -1;
    const started = Date.now();
    const pause = (DURATION_MS * CONCURRENCY) / TOTAL_REQUESTS;
    const worker = async () => {
      while (issued < TOTAL_REQUESTS) {
        const n = issued++;
        if (n === KILL_AFTER) {
          killedAt = n;
          victim.child.kill('SIGKILL');
        }
        const url = `${proxy}${PATHS[n % PATHS.length]}`;
        const t0 = Date.now();
        try {
          const res = await apiFetch(url);
          await res.arrayBuffer();
          statuses.push(res.status);
          if (res.status < 200 || res.status >= 300) failures.push(`#${n} ${url}: ${res.status}`);
        } catch (error) {
          failures.push(`#${n} ${url}: ${(error as Error).message}`);
        }
        await new Promise((r) => setTimeout(r, Math.max(0, pause - (Date.now() - t0))));
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    const elapsed = Date.now() - started;

    await waitFor(() => victim.child.exitCode !== null || victim.child.signalCode !== null, 5_000, 'the victim to die');
    expect(victim.child.signalCode).toBe('SIGKILL');
    expect(killedAt).toBe(KILL_AFTER);
    expect(failures).toEqual([]);
    expect(statuses).toHaveLength(TOTAL_REQUESTS);

    // What NGINX saw: requests answered after a retry list two upstreams; the survivors took the rest.
    const log = existsSync(path.join(tmp, 'globalmcp-access.log'))
      ? readFileSync(path.join(tmp, 'globalmcp-access.log'), 'utf8')
      : '';
    const retried = log.split('\n').filter((l) => /upstream=\S+, /.test(l)).length;
    const victimAddress = `127.0.0.1:${victim.ports.api}`;
    const upstreams = [...log.matchAll(/upstream=([\d.:]+)(?:\s|$)/g)].map((m) => m[1]);
    const survivorsAfter = upstreams.slice(KILL_AFTER + CONCURRENCY).filter((u) => u !== victimAddress).length;
    console.log(
      `drill: ${TOTAL_REQUESTS} requests in ${elapsed} ms, concurrency ${CONCURRENCY}, gateway ${victimAddress} ` +
        `SIGKILLed at request ${KILL_AFTER}; all 2xx; ${retried} passed on to another replica by NGINX`,
    );
    expect(upstreams.slice(0, KILL_AFTER - CONCURRENCY)).toContain(victimAddress); // it did serve before
    expect(retried).toBeGreaterThan(0); // the failover happened, and nobody saw it
    expect(survivorsAfter).toBeGreaterThan(0);
    expect(elapsed).toBeLessThan(30_000);
  }, 60_000);
});
