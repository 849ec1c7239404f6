import { spawn, type ChildProcess } from 'node:child_process';

/**
 * The watchdog's program, run with `node -e`. It reads `+pid` / `-pid` lines on stdin; when stdin ends (the gateway
 * exited in any way, `kill -9` included, since the kernel closes the pipe) it sends SIGTERM to every PID still
 * listed, SIGKILL 2 s later to any survivor, and exits. Plain JS on purpose: it runs outside the app.
 */
const WATCHDOG_SOURCE = `
const pids = new Set();
let buf = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (d) => {
  buf += d;
  let i;
  while ((i = buf.indexOf('\\n')) >= 0) {
    const line = buf.slice(0, i); buf = buf.slice(i + 1);
    const pid = Number(line.slice(1));
    if (!Number.isInteger(pid) || pid <= 0) continue;
    if (line[0] === '+') pids.add(pid); else pids.delete(pid);
  }
});
const kill = (sig) => { for (const p of pids) { try { process.kill(p, sig); } catch { pids.delete(p); } } };
process.stdin.on('close', () => {
  if (pids.size === 0) process.exit(0);
  kill('SIGTERM');
  setTimeout(() => { kill('SIGKILL'); process.exit(0); }, 2000);
});
process.on('SIGTERM', () => undefined);
process.on('SIGINT', () => undefined);
`;

/**
 * A small companion process that kills the engine's children if the gateway dies without running any code
 * (`kill -9`, OOM killer). Stdin EOF already makes well-behaved MCP servers exit; this covers the ones that do not.
 * One process for the whole gateway, whatever the number of servers.
 */
export class OrphanWatchdog {
  private readonly child: ChildProcess;
  private exited = false;
  private readonly exitPromise: Promise<void>;

  constructor() {
    this.child = spawn(process.execPath, ['-e', WATCHDOG_SOURCE], {
      // Own process group: a Ctrl-C to the gateway's terminal group must not kill it before it did its job.
      detached: true,
      stdio: ['pipe', 'ignore', 'ignore'],
      env: { PATH: process.env.PATH ?? '' },
    });
    this.exitPromise = new Promise((resolve) => this.child.once('exit', () => ((this.exited = true), resolve())));
    this.child.stdin?.on('error', () => undefined);
    // The gateway must not wait on its watchdog to exit.
    this.child.unref();
    (this.child.stdin as unknown as { unref?: () => void } | null)?.unref?.();
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  track(pid: number): void {
    if (!this.exited) this.child.stdin?.write(`+${pid}\n`);
  }

  untrack(pid: number): void {
    if (!this.exited) this.child.stdin?.write(`-${pid}\n`);
  }

  /**
   * Ends the pipe as a dead gateway would; the watchdog kills whatever is still listed and exits. Call it once every
   * child was reaped (then it just exits).
   */
  async stop(): Promise<void> {
    this.child.stdin?.end();
    this.child.stdin?.destroy();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.exitPromise, new Promise<void>((r) => (timer = setTimeout(r, 5_000)))]);
    clearTimeout(timer);
  }
}
