import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startGateway, type RunningGateway } from 'src/bootstrap/application';
import { loadConfig } from 'src/config/config.loader';
import { TEST_ADMIN_KEY } from './auth';
import { freePort } from './ports';

export interface TestGateway extends RunningGateway {
  dir: string;
  /** The admin API key the gateway was started with (GLOBALMCP_ADMIN_API_KEY). */
  adminKey: string;
  /** `{ 'X-API-Key': adminKey }`: spread into fetch headers to call the API as admin. */
  authHeaders: Record<string, string>;
  stop(): Promise<void>;
}

export interface TestGatewayOptions {
  /** YAML merged over the test configuration (a second config file). */
  yaml?: string;
  /** Environment seen by the configuration loader (DATABASE_URL and REDIS_URL are filled in unless given). */
  env?: Record<string, string | undefined>;
  databaseUrl?: string;
  /** Leave rate limiting as configured (on by default); otherwise the test configuration turns it off. */
  rateLimiting?: boolean;
}

/**
 * The Redis key prefix of a test gateway. The run shares one Redis; replicas of one test (the same database) share
 * their caches as production replicas do, while another test's server of the same id never lends this one its
 * catalog (a cached catalog would list tools before this gateway has connected to its own upstream).
 */
function cacheNamespace(databaseUrl: string | undefined, dir: string): string {
  const database = databaseUrl ? new URL(databaseUrl).pathname.slice(1) : path.basename(dir);
  return `e2e-${database}:`;
}

/** Starts the real gateway in this process on free loopback ports, against the given database. */
export async function startTestGateway(options: TestGatewayOptions = {}): Promise<TestGateway> {
  const dir = mkdtempSync(path.join(tmpdir(), 'globalmcp-e2e-'));
  const base = path.join(dir, 'application.yml');
  writeFileSync(
    base,
    `server:\n  port: 0\n  address: 127.0.0.1\nmanagement:\n  server:\n    port: 0\n  prometheus:\n    port: ${await freePort()}\n` +
      // No drain delay: nothing balances these, and a stop must stay quick (mcp.shutdown.drain-delay).
      `logging:\n  level:\n    root: WARN\nmcp:\n  data-dir: ${dir}/data\n  shutdown:\n    drain-delay: 0\n` +
      (options.rateLimiting ? '' : '  security:\n    rate-limiting:\n      enabled: false\n') +
      `spring:\n  cache:\n    redis:\n      key-prefix: "${cacheNamespace(options.databaseUrl, dir)}"\n`,
  );
  // The test's own YAML is a second file, merged over the first the way `--config a.yml,b.yml` does.
  const extra = path.join(dir, 'test.yml');
  writeFileSync(extra, options.yaml ?? '');
  const env: Record<string, string | undefined> = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    DATABASE_URL: options.databaseUrl,
    REDIS_URL: process.env.TEST_REDIS_URL,
    GLOBALMCP_ADMIN_API_KEY: TEST_ADMIN_KEY,
    ...options.env,
  };
  const loaded = loadConfig({ configFiles: `${base},${extra}`, env: env });
  const gateway = await startGateway(loaded);
  return {
    ...gateway,
    dir,
    adminKey: env.GLOBALMCP_ADMIN_API_KEY ?? TEST_ADMIN_KEY,
    authHeaders: { 'X-API-Key': env.GLOBALMCP_ADMIN_API_KEY ?? TEST_ADMIN_KEY },
    stop: async () => {
      await gateway.shutdown('test finished');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
