import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { OrphanWatchdog } from './orphan-watchdog';

const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('OrphanWatchdog', () => {
  it('kills listed children (SIGTERM, then SIGKILL) when its pipe from the gateway closes, as on kill -9', async () => {
    const stubborn = spawn(
      process.execPath,
      [join(__dirname, '../../test/fixtures/servers/ignore-sigterm-server.js')],
      {
        stdio: ['pipe', 'ignore', 'ignore'],
      },
    );
    const exited = new Promise<void>((r) => stubborn.once('exit', () => r()));
    const watchdog = new OrphanWatchdog();
    const pid = stubborn.pid!;
    watchdog.track(pid);
    await new Promise((r) => setTimeout(r, 200));
    expect(isAlive(pid)).toBe(true);
    const started = Date.now();
    await watchdog.stop(); // closes the pipe exactly as the kernel does when the gateway dies
    await exited;
    expect(isAlive(pid)).toBe(false);
    expect(Date.now() - started).toBeLessThan(4_000);
    expect(isAlive(watchdog.pid!)).toBe(false);
  });

  it('exits at once when nothing is left to kill', async () => {
    const watchdog = new OrphanWatchdog();
    watchdog.track(999_999);
    watchdog.untrack(999_999);
    const started = Date.now();
    await watchdog.stop();
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(isAlive(watchdog.pid!)).toBe(false);
  });
});
