import type { ChildProcess } from 'node:child_process';

interface TrackedChild {
  pid: number;
  serverId: string;
  child: ChildProcess | undefined;
  exited: Promise<void>;
  done: boolean;
}

export interface ReapOptions {
  /** Time a child gets to exit on its own after its stdin was closed, before SIGTERM. */
  graceMs: number;
  /** Time after SIGTERM before SIGKILL. */
  killAfterMs: number;
}

const POLL_MS = 25;

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function hasExited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

/**
 * Tracks every child process the engine spawned and makes sure each one dies:
 * - `reap()` on a normal close: wait `graceMs` (stdin EOF makes well-behaved servers exit), then SIGTERM, then SIGKILL
 *   after `killAfterMs`, then wait for the exit;
 * - `killAllSync()` from a `process.on('exit')` hook (process.exit, uncaught exception): SIGKILL to whatever is left,
 *   synchronously, because nothing asynchronous runs after 'exit'.
 * A `kill -9` of the gateway runs no code at all: children then see EOF on stdin and well-behaved MCP servers exit
 * (the stdio transport of every SDK does); the optional `OrphanWatchdog` kills the others.
 */
export class ChildReaper {
  private readonly children = new Map<number, TrackedChild>();

  /** @param watchdog optional companion process that kills the children if this process dies by `kill -9`. */
  constructor(private readonly watchdog?: { track(pid: number): void; untrack(pid: number): void }) {}

  /** Starts tracking a spawned child. `child` is optional: without it, exit is detected by polling the PID. */
  track(pid: number, serverId: string, child?: ChildProcess): void {
    const entry: TrackedChild = { pid, serverId, child, exited: Promise.resolve(), done: false };
    entry.exited = new Promise<void>((resolve) => {
      const finish = () => {
        entry.done = true;
        this.children.delete(pid);
        this.watchdog?.untrack(pid);
        resolve();
      };
      if (child) {
        if (hasExited(child)) return finish();
        child.once('exit', finish);
        return undefined;
      }
      const timer = setInterval(() => {
        if (!isAlive(pid)) {
          clearInterval(timer);
          finish();
        }
      }, POLL_MS);
      timer.unref();
      return undefined;
    });
    this.children.set(pid, entry);
    if (!entry.done) this.watchdog?.track(pid);
  }

  /** PIDs of live children, optionally of one server. */
  pids(serverId?: string): number[] {
    const out: number[] = [];
    for (const c of this.children.values()) if (serverId === undefined || c.serverId === serverId) out.push(c.pid);
    return out;
  }

  /** Resolves once the child is gone, escalating SIGTERM then SIGKILL. Safe to call more than once. */
  async reap(pid: number, options: ReapOptions): Promise<void> {
    const entry = this.children.get(pid);
    if (!entry || entry.done) return;
    if (await this.exitsWithin(entry, options.graceMs)) return;
    this.signal(entry, 'SIGTERM');
    if (await this.exitsWithin(entry, options.killAfterMs)) return;
    this.signal(entry, 'SIGKILL');
    // SIGKILL cannot be ignored; the bound only protects against a PID we cannot see exit (e.g. EPERM).
    await this.exitsWithin(entry, 5_000);
  }

  /** Resolves when every tracked child has exited or the bound has passed. */
  async waitAll(timeoutMs: number): Promise<void> {
    const all = [...this.children.values()].map((c) => c.exited);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(all), new Promise<void>((r) => (timer = setTimeout(r, timeoutMs)))]);
    clearTimeout(timer);
  }

  /** Last resort from synchronous contexts (`process.on('exit')`): SIGKILL every tracked child. */
  killAllSync(): void {
    for (const entry of this.children.values()) this.signal(entry, 'SIGKILL');
  }

  private signal(entry: TrackedChild, signal: NodeJS.Signals): void {
    if (entry.done) return;
    try {
      if (entry.child) entry.child.kill(signal);
      else process.kill(entry.pid, signal);
    } catch {
      // already gone
    }
  }

  private async exitsWithin(entry: TrackedChild, ms: number): Promise<boolean> {
    if (entry.done) return true;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<boolean>((r) => (timer = setTimeout(() => r(false), ms)));
    const result = await Promise.race([entry.exited.then(() => true), timedOut]);
    clearTimeout(timer);
    return result;
  }
}
