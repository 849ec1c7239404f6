import { chromium, type Browser } from 'playwright-core';
import { descendantsOf, isAlive } from './processes';

// Debian's chromium, never a downloaded browser; flags keep it headless, sandbox-less (root in CI) and off the network.
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-dev-shm-usage',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

export interface LaunchedBrowser {
  browser: Browser;
  /** Closes the browser and kills any of its processes still alive: no browser process is left behind. */
  close(): Promise<void>;
}

/** Launches Debian's headless Chromium for a browser test, remembering the processes it started. */
export async function launchChromium(): Promise<LaunchedBrowser> {
  const before = new Set(descendantsOf(process.pid));
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS, timeout: 30_000 });
  const pids = descendantsOf(process.pid).filter((pid) => !before.has(pid));
  return {
    browser,
    close: async () => {
      await browser.close().catch(() => undefined);
      for (const pid of pids) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
    },
  };
}
