import { Client } from 'pg';
import { ADMIN_HEADERS } from '../support/auth';
import { EVERYTHING, RECORDER, REPO as ROOT } from '../support/paths';

export { EVERYTHING, RECORDER, ROOT };

export interface Answer {
  status: number;
  body: any;
}

/** JSON calls to one gateway's API as admin. */
export function apiClient(base: () => string) {
  const call = async (method: string, p: string, body?: unknown): Promise<Answer> => {
    const res = await fetch(`${base()}${p}`, {
      method,
      headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...ADMIN_HEADERS },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  };
  return {
    get: (p: string) => call('GET', p),
    post: (p: string, body: unknown) => call('POST', p, body),
    put: (p: string, body: unknown) => call('PUT', p, body),
    del: (p: string) => call('DELETE', p),
  };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls until `check` returns true or `ms` pass; returns whether it did. */
export async function eventually(check: () => Promise<boolean>, ms: number, every = 50): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await sleep(every);
  }
  return check();
}

/** The `mcp_servers` rows as PostgreSQL returns them (bytea as Buffer). */
export async function rawRows(url: string): Promise<Record<string, unknown>[]> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query('SELECT * FROM mcp_servers ORDER BY id')).rows as Record<string, unknown>[];
  } finally {
    await client.end();
  }
}

export function everythingBody(id: string, environment: Record<string, string> = {}) {
  return {
    id,
    name: `Everything ${id}`,
    description: 'registered by a test',
    type: 'stdio',
    configuration: { command: 'node', args: [EVERYTHING, 'stdio'], environment, timeout: 20000 },
    enabled: true,
  };
}
