import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';

const FIXTURES = path.resolve(__dirname, '../fixtures/oauth');

export interface FixtureProcess<T> {
  readonly pid: number;
  /** What the fixture printed after `READY `. */
  readonly ready: T;
  /** SIGTERM, then SIGKILL after 3 s; resolves once it exited. Idempotent. */
  stop(): Promise<void>;
}

/** Starts `test/fixtures/oauth/<script>` with its options as JSON and waits for its `READY` line. */
async function startFixture<T>(
  script: string,
  options: unknown,
  parse: (line: string) => T,
): Promise<FixtureProcess<T>> {
  const child: ChildProcess = spawn(process.execPath, [path.join(FIXTURES, script), JSON.stringify(options)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-2000)));
  const ready = await new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${script} did not start: ${stderr}`)), 20_000);
    child.once('exit', (code) => reject(new Error(`${script} exited (${code}): ${stderr}`)));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (!line.startsWith('READY ')) return;
      clearTimeout(timer);
      resolve(parse(line.slice(6)));
    });
  });
  let stopping: Promise<void> | undefined;
  return {
    pid: child.pid!,
    ready,
    stop: () =>
      (stopping ??= (async () => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        child.kill('SIGTERM');
        const killer = setTimeout(() => child.kill('SIGKILL'), 3_000);
        await exited;
        clearTimeout(killer);
      })()),
  };
}

export interface TestProviderInfo {
  issuer: string;
  /** Client secrets by client id: `globalmcp` (the gateway), `alice-app`, `bob-app`, `carol-app`, `dave-app` (callers). */
  clients: Record<string, string>;
}

/** The OpenID Provider of test/fixtures/oauth/test-provider.mjs (client credentials, token exchange, JWT tokens). */
export function startTestProvider(options: {
  gatewayResource: string;
  upstreamResource: string;
  /** Seconds: client-credential tokens for the upstream. */
  upstreamTtl: number;
  /** Seconds: exchanged tokens (default: upstreamTtl). */
  exchangeTtl?: number;
}): Promise<FixtureProcess<TestProviderInfo>> {
  return startFixture('test-provider.mjs', options, (line) => JSON.parse(line) as TestProviderInfo);
}

/** The whoami upstream of test/fixtures/oauth/whoami-upstream.mjs; `ready` is its MCP URL. */
export function startWhoamiUpstream(options: {
  issuer: string;
  audience: string;
  meshSecret: string;
  /** A fixed port (its URL must be known before it starts: the provider names it as a resource). */
  port?: number;
  /** Answer 401 with RFC 9728 `resource_metadata` and serve that metadata (`oauth-user` discovery). */
  resourceMetadata?: boolean;
}): Promise<FixtureProcess<string>> {
  return startFixture('whoami-upstream.mjs', options, (line) => line.trim());
}

/** A client-credentials token of `clientId` at the provider, for `resource`. */
export async function clientToken(
  provider: TestProviderInfo,
  clientId: string,
  resource: string,
  scope?: string,
): Promise<string> {
  const body = new URLSearchParams({ grant_type: 'client_credentials', resource });
  if (scope) body.set('scope', scope);
  const basic = Buffer.from(`${clientId}:${provider.clients[clientId]}`).toString('base64');
  const res = await fetch(`${provider.issuer}/token`, {
    method: 'POST',
    headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
    body,
  });
  const json = (await res.json()) as { access_token?: string; error?: string };
  if (!json.access_token) throw new Error(`no token for ${clientId}: ${json.error}`);
  return json.access_token;
}

/** Grants by type and subject, registrations and revocations counted by test/fixtures/oauth/user-provider.mjs. */
export interface UserProviderStats {
  authorization_code: Record<string, number>;
  refresh_token: Record<string, number>;
  registrations: number;
  revocations: number;
  /** Client ID Metadata Documents fetched (their URLs). */
  metadataDocuments: string[];
}

/**
 * The interactive OpenID Provider of test/fixtures/oauth/user-provider.mjs (login and consent pages, code + PKCE,
 * rotated refresh tokens, revocation, dynamic registration); `ready` is its issuer.
 */
export function startUserProvider(options: {
  port: number;
  upstreamResource: string;
  redirectUri: string;
  clientSecret: string;
  /** Seconds: lifetime of the access tokens for the upstream. */
  accessTtl: number;
  /** Take Client ID Metadata Documents (and no dynamic registration). */
  cimd?: boolean;
}): Promise<FixtureProcess<string>> {
  return startFixture('user-provider.mjs', options, (line) => line.trim());
}
