import { spawnGateway, type SpawnedGateway } from '../support/child-gateway';
import { MAIN, requireBuild, TOOLBOX } from '../support/paths';
import { waitFor } from '../support/wait';

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

/** A built gateway as the ops tests run it: their own admin key, rate limits as their config says. */
export type ChildGateway = SpawnedGateway;

export interface ChildGatewayOptions {
  databaseUrl: string;
  /** YAML of a second config file (`application.yml,<extraFileName>`), to edit and reload. */
  extraYaml?: string;
  extraFileName?: string;
  env?: Record<string, string>;
}

/** Starts `node dist/src/main.js` on free loopback ports; resolves once readiness answers 200. */
export function startChildGateway(options: ChildGatewayOptions): Promise<ChildGateway> {
  return spawnGateway({
    databaseUrl: options.databaseUrl,
    extraYaml: options.extraYaml,
    extraFileName: options.extraFileName,
    configuredRateLimits: true,
    env: { GLOBALMCP_ADMIN_API_KEY: ADMIN_API_KEY, ...options.env },
  });
}
