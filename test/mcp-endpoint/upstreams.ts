import { ADMIN_HEADERS } from '../support/auth';
import { EVERYTHING, TOOLBOX } from '../support/paths';
import { waitFor } from '../support/wait';

/** The upstreams of the MCP front door tests: server-everything and the toolbox fixture, both over stdio. */
export const EVERYTHING_AND_TOOLBOX_YAML = `mcp:
  client:
    default-timeout: 15000
  servers:
    everything:
      type: stdio
      command: node
      args: ["${EVERYTHING}", stdio]
    toolbox:
      type: stdio
      command: node
      args: ["${TOOLBOX}"]
`;

/** The toolbox fixture alone over stdio, two pooled processes (a call that hangs leaves one free). */
export const TOOLBOX_YAML = `mcp:
  servers:
    toolbox:
      type: stdio
      command: node
      args: ["${TOOLBOX}"]
      pool-size: 2
`;

/** The text blocks of a `tools/call` result, joined. */
export const textOf = (result: unknown): string =>
  (result as { content: { type: string; text?: string }[] }).content.map((c) => c.text ?? '').join('\n');

/** How many calls have waited for a pooled connection of `server` they may share (the engine's placement queue). */
export async function placementWaits(
  management: string,
  server: string,
  headers: Record<string, string>,
): Promise<number> {
  const res = await fetch(`${management}/actuator/prometheus`, { headers });
  const match = new RegExp(`^mcp_pool_placement_waits_total\\{server="${server}"\\} (\\d+)`, 'm').exec(
    await res.text(),
  );
  return Number(match?.[1] ?? 0);
}

/** Waits until the catalog lists tools of every one of `servers` (their pools are up). */
export async function waitForTools(base: string, servers: string[]): Promise<void> {
  await waitFor(
    async () => {
      const res = await fetch(`${base}/api/tools`, { headers: ADMIN_HEADERS });
      const body = (await res.json()) as { tools: { server_id: string }[] };
      return servers.every((id) => body.tools.some((t) => t.server_id === id));
    },
    20_000,
    `tools of ${servers.join(', ')} listed`,
  );
}
