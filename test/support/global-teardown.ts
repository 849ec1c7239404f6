import { readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { running, STATE_FILE_ENV, type TestInfraState } from './global-setup';

/** Jest globalTeardown of the e2e project: stops by PID exactly what global-setup.ts started, then removes its dir. */
export default async function globalTeardown(): Promise<void> {
  const stateFile = process.env[STATE_FILE_ENV];
  let state: TestInfraState | undefined = running.state;
  if (!state && stateFile) {
    try {
      state = JSON.parse(readFileSync(stateFile, 'utf8')) as TestInfraState;
    } catch {
      state = undefined;
    }
  }
  if (!state) return;

  // Watchdogs first (SIGKILL: they must not fire), then the servers themselves.
  for (const pid of state.watchdogs) signal(pid, 'SIGKILL');
  await Promise.all([
    (async () => {
      if (running.postgres) await running.postgres.stop();
      else if (state.postgres) await stopPid(state.postgres.pid, 'SIGINT');
    })(),
    state.redis ? stopPid(state.redis.pid, 'SIGTERM') : Promise.resolve(),
  ]);
  await rm(state.tmpDir, { recursive: true, force: true });
  running.postgres = undefined;
  running.redis = undefined;
  running.state = undefined;
}

function signal(pid: number, name: NodeJS.Signals): boolean {
  try {
    process.kill(pid, name);
    return true;
  } catch {
    return false;
  }
}

async function stopPid(pid: number, first: NodeJS.Signals): Promise<void> {
  if (!signal(pid, first)) return;
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (!signal(pid, 0 as unknown as NodeJS.Signals)) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  signal(pid, 'SIGKILL');
}
