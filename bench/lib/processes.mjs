// Child processes of `npm run bench`: every child in its own process group, tracked until it exits, and the final
// sweep of /proc for anything of this run (its marker in the environment, its temp dir in argv) still alive.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { BENCH_DIR, ROOT, killGroup, killIfSame, killRunProcesses } from './common.mjs';
import { MARKER, TEMP } from './run-context.mjs';

/** Every child this script spawned (each leads its own process group). */
export const tracked = new Set();
/** Every descendant of a gateway ever seen (pid + start time), killed at the end if still there. */
export const seenDescendants = new Map();

export function spawnTracked(command, args, options) {
  const child = spawn(command, args, { ...options, detached: true });
  tracked.add(child);
  child.exitPromise = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  child.exitPromise.then(() => tracked.delete(child));
  return child;
}

/** Runs a bench worker script as a child; resolves to its JSON output. `onLine` sees its stdout lines. */
export async function runWorker(script, options, onLine) {
  const out = path.join(TEMP, `${path.basename(script, '.mjs')}-${Date.now()}.json`);
  const child = spawnTracked(process.execPath, [path.join(BENCH_DIR, script), JSON.stringify(options), out], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  createInterface({ input: child.stdout }).on('line', (line) => onLine?.(line));
  const { code } = await child.exitPromise;
  const result = existsSync(out) ? JSON.parse(readFileSync(out, 'utf8')) : { error: `no output (exit ${code})` };
  if (result.error) throw new Error(`${script} failed: ${result.error}`);
  return result;
}

export async function cleanupAll() {
  for (const child of [...tracked]) {
    if (child.exitCode === null && child.signalCode === null) killGroup(child.pid);
  }
  for (const d of seenDescendants.values()) killIfSame(d);
  return killRunProcesses(MARKER, TEMP);
}
