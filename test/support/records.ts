import { ADMIN_HEADERS } from './auth';

/** An execution record as `GET /api/executions` lists it (the fields tests read). */
export interface ListedExecution {
  status: string;
  channel: string;
  protocol_version: string | null;
  parameters?: unknown;
}

/** The latest records (up to 200) of one tool of one server. */
export async function executionsOf(api: string, serverId: string, tool: string): Promise<ListedExecution[]> {
  const res = await fetch(`${api}/api/executions?server_id=${serverId}&tool=${tool}&limit=200`, {
    headers: ADMIN_HEADERS,
  });
  return ((await res.json()) as { executions: ListedExecution[] }).executions;
}

/** How many of those records have `status`. */
export async function countOf(api: string, serverId: string, tool: string, status: string): Promise<number> {
  return (await executionsOf(api, serverId, tool)).filter((e) => e.status === status).length;
}

/** Whether a call is in flight on the server's pool (a call has reached the upstream and not ended). */
export async function callInFlight(api: string, serverId: string): Promise<boolean> {
  const res = await fetch(`${api}/api/servers/${serverId}`, { headers: ADMIN_HEADERS });
  return ((await res.json()) as { metrics: { in_flight: number } }).metrics.in_flight > 0;
}
