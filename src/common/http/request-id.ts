import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

export const REQUEST_ID_HEADER = 'x-request-id';
const ACCEPTABLE_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * The id a request is known by in logs, error envelopes and the `X-Request-Id` response header: the caller's
 * own id when it sent a sane one (so a trace spans systems), otherwise a new UUID.
 */
export function requestIdFor(req: IncomingMessage): string {
  const given = req.headers[REQUEST_ID_HEADER];
  const candidate = Array.isArray(given) ? given[0] : given;
  const id = candidate && ACCEPTABLE_ID.test(candidate) ? candidate : randomUUID();
  // Kept on the raw request too, for code that only sees it.
  (req as IncomingMessage & { id?: string }).id = id;
  return id;
}
