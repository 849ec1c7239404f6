/** Raw MCP 2026-07-28 over HTTP for the front door's e2e tests: one POST, and the messages of an event stream. */

export const REVISION = '2026-07-28';

/** The per-request `_meta` envelope a 2026-07-28 request carries. */
export const envelope = (capabilities: Record<string, unknown>) => ({
  'io.modelcontextprotocol/protocolVersion': REVISION,
  'io.modelcontextprotocol/clientCapabilities': capabilities,
});

/** The standard headers of a 2026-07-28 POST (`Mcp-Name` when the request names a tool, a task…). */
export function modernHeaders(method: string, auth: Record<string, string>, name?: string): Record<string, string> {
  return {
    ...auth,
    'content-type': 'application/json',
    accept: 'application/json, text/event-stream',
    'mcp-protocol-version': REVISION,
    'mcp-method': method,
    ...(name ? { 'mcp-name': name } : {}),
  };
}

export interface Rpc {
  status: number;
  result?: Record<string, any>;
  error?: { code: number; message: string; data?: any };
  notifications: { method: string; params?: Record<string, unknown> }[];
}

/**
 * One 2026-07-28 request to `url` with `meta` as its envelope, `Mcp-Name` taken from `params.name` or `params.taskId`;
 * its answer (JSON or an event stream) and the notifications that came before it.
 */
export async function modernRpc(
  url: string,
  auth: Record<string, string>,
  id: number | string,
  method: string,
  params: Record<string, unknown>,
  meta: Record<string, unknown>,
): Promise<Rpc> {
  const name = [params.name, params.taskId].find((v) => typeof v === 'string') as string | undefined;
  const res = await fetch(url, {
    method: 'POST',
    headers: modernHeaders(method, auth, name),
    body: JSON.stringify({ jsonrpc: '2.0', id, method, params: { ...params, _meta: meta } }),
  });
  const text = await res.text();
  const messages = (res.headers.get('content-type') ?? '').startsWith('text/event-stream')
    ? text
        .split('\n')
        .filter((l) => l.startsWith('data: '))
        .map((l) => JSON.parse(l.slice(6)) as Record<string, any>)
    : [JSON.parse(text) as Record<string, any>];
  const answer = messages.find((m) => 'result' in m || 'error' in m) ?? {};
  return {
    status: res.status,
    result: answer.result,
    error: answer.error,
    notifications: messages.filter((m) => 'method' in m) as Rpc['notifications'],
  };
}

/** Reads an event stream's `data:` messages into `into` as they come; resolves when it ends or is hung up. */
export async function readEvents<T>(res: Response, into: T[]): Promise<void> {
  const decoder = new TextDecoder();
  let buffer = '';
  try {
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      buffer += decoder.decode(chunk, { stream: true });
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const data = buffer
          .slice(0, end)
          .split('\n')
          .filter((l) => l.startsWith('data: '))
          .map((l) => l.slice(6))
          .join('\n');
        buffer = buffer.slice(end + 2);
        if (data) into.push(JSON.parse(data) as T);
      }
    }
  } catch {
    // Hung up by the test.
  }
}
