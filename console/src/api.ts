/**
 * The console's one door to the API: same origin, the caller's credential from sessionStorage (this tab only): an API
 * key sent as X-API-Key, or an OAuth2 access token (sign-in with PKCE, oauth.ts) sent as a bearer token.
 */

const STORAGE = 'globalmcp.credential';

export type Credential = { kind: 'key'; key: string } | { kind: 'bearer'; token: string; expiresAt: number | null };

export const credential = {
  get: (): Credential | null => {
    try {
      return JSON.parse(sessionStorage.getItem(STORAGE) ?? 'null') as Credential | null;
    } catch {
      return null;
    }
  },
  set: (value: Credential): void => sessionStorage.setItem(STORAGE, JSON.stringify(value)),
  clear: (): void => sessionStorage.removeItem(STORAGE),
};

/** The API's error envelope, kept whole so the page can show code, message and request id. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly requestId: string | null,
  ) {
    super(message);
  }
}

interface Envelope {
  error?: { code?: string; message?: string; request_id?: string };
}

function headers(extra: Record<string, string> = {}): Record<string, string> {
  const held = credential.get();
  const auth: Record<string, string> =
    held?.kind === 'key'
      ? { 'X-API-Key': held.key }
      : held?.kind === 'bearer'
        ? { authorization: `Bearer ${held.token}` }
        : {};
  return { accept: 'application/json', ...auth, ...extra };
}

/** Fired when the API refuses the held credential (expired token, revoked key): the page goes back to sign-in. */
export const CREDENTIAL_REFUSED = 'globalmcp:credential-refused';

async function failure(res: Response): Promise<ApiError> {
  const body = (await res.json().catch(() => ({}))) as Envelope;
  if (res.status === 401 && credential.get()) dispatchEvent(new Event(CREDENTIAL_REFUSED));
  return new ApiError(
    res.status,
    body.error?.code ?? `HTTP_${res.status}`,
    body.error?.message ?? res.statusText,
    body.error?.request_id ?? res.headers.get('x-request-id'),
  );
}

export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(path, {
    method,
    headers: headers(body === undefined ? {} : { 'content-type': 'application/json' }),
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!res.ok) throw await failure(res);
  return (await res.json()) as T;
}

export function query(params: Record<string, string | number | undefined>): string {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params))
    if (value !== undefined && value !== '') search.set(name, String(value));
  const text = search.toString();
  return text ? `?${text}` : '';
}

export interface JobEvent {
  type: string;
  data: Record<string, unknown>;
}

/**
 * Follows GET /api/executions/{id}/events. EventSource cannot send X-API-Key, so the stream is read with fetch and
 * parsed here (event/data lines, blank line ends an event). Resolves when the stream ends or `signal` aborts.
 */
export async function followEvents(id: string, onEvent: (event: JobEvent) => void, signal: AbortSignal): Promise<void> {
  const res = await fetch(`/api/executions/${encodeURIComponent(id)}/events`, {
    headers: headers({ accept: 'text/event-stream' }),
    signal,
  });
  if (!res.ok || !res.body) throw await failure(res);
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return;
    buffer += value;
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let type = 'message';
      let data = '';
      for (const line of block.split('\n')) {
        if (line.startsWith('event:')) type = line.slice(6).trim();
        else if (line.startsWith('data:')) data += line.slice(5).trim();
      }
      if (data) onEvent({ type, data: JSON.parse(data) as Record<string, unknown> });
    }
  }
}
