import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from '../support/ports';
import { isAlive } from '../support/processes';
import { MAIN, requireBuild, TOOLBOX } from '../support/paths';
import { waitFor } from '../support/wait';
import { REPO } from './ops-tools';

/**
 * Helpers of the live operations tests (reload, metrics, the proxy drill): running gateways, in this process or
 * as `node dist/src/main.js` children, and talking to them.
 */

export { MAIN, requireBuild, TOOLBOX, waitFor };

/**
 * Admin API key given to every gateway these tests start (GLOBALMCP_ADMIN_API_KEY) and sent as X-API-Key: harmless
 * while the API is open, and what lets the tests through once authentication is on.
 */
export const ADMIN_API_KEY = 'ops-test-admin-key-6f1d2c9a8b7e4f30a1b2c3d4';
export const AUTH = { 'X-API-Key': ADMIN_API_KEY } as const;

export function apiFetch(url: string, init: RequestInit = {}): Promise<Response> {
  return fetch(url, { ...init, headers: { ...AUTH, ...(init.headers as Record<string, string> | undefined) } });
}

/** A stdio server entry (YAML, indented under `mcp.servers`) running the toolbox fixture. */
export const toolboxServer = (id: string, extra = '') =>
  `    ${id}:\n      type: stdio\n      command: ${process.execPath}\n      args: ["${TOOLBOX}"]\n${extra}`;

export interface ChildGateway {
  child: ChildProcess;
  dir: string;
  api: string;
  management: string;
  metrics: string;
  ports: { api: number; management: number; metrics: number };
  output(): string;
  /** SIGTERM, then SIGKILL after 15 s; removes the temp dir. */
  stop(): Promise<void>;
}

export interface ChildGatewayOptions {
  databaseUrl: string;
  /** YAML of a second config file (`--config application.yml,<extraFileName>`). */
  extraYaml?: string;
  extraFileName?: string;
  env?: Record<string, string>;
}

/** Starts `node dist/src/main.js` on free loopback ports; resolves once readiness answers 200. */
export async function startChildGateway(options: ChildGatewayOptions): Promise<ChildGateway> {
  requireBuild();
  const dir = mkdtempSync(path.join(tmpdir(), 'globalmcp-ops-child-'));
  const ports = { api: await freePort(), management: await freePort(), metrics: await freePort() };
  const base = path.join(dir, 'application.yml');
  writeFileSync(
    base,
    `server:\n  port: ${ports.api}\n  address: 127.0.0.1\nmanagement:\n  server:\n    port: ${ports.management}\n` +
      `  prometheus:\n    port: ${ports.metrics}\nlogging:\n  level:\n    root: INFO\nmcp:\n  data-dir: ${dir}/data\n`,
  );
  const files = [base];
  if (options.extraYaml !== undefined) {
    const extra = path.join(dir, options.extraFileName ?? 'servers.yml');
    writeFileSync(extra, options.extraYaml);
    files.push(extra);
  }
  const env = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? dir,
    DATABASE_URL: options.databaseUrl,
    GLOBALMCP_ADMIN_API_KEY: ADMIN_API_KEY,
    ...options.env,
  };
  const child = spawn(process.execPath, [MAIN, '--config', files.join(',')], {
    cwd: REPO,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-200_000)));
  child.stderr!.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-200_000)));
  const management = `http://127.0.0.1:${ports.management}`;
  const gateway: ChildGateway = {
    child,
    dir,
    ports,
    api: `http://127.0.0.1:${ports.api}`,
    management,
    metrics: `http://127.0.0.1:${ports.metrics}`,
    output: () => output,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.pid && isAlive(child.pid) && child.kill('SIGKILL'), 15_000);
        await exited;
        clearTimeout(timer);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    await waitFor(
      async () => {
        if (child.exitCode !== null) throw new Error(`exited with ${child.exitCode}`);
        return (await fetch(`${management}/actuator/health/readiness`)).status === 200;
      },
      90_000,
      'the child gateway to be ready',
    );
  } catch (error) {
    await gateway.stop();
    throw new Error(`${(error as Error).message}\n--- gateway output ---\n${output.slice(-4000)}`, { cause: error });
  }
  return gateway;
}
