import type { ServerResponse } from 'node:http';
import type { FastifyRequest } from 'fastify';

/**
 * A Fastify request as the web-standard `Request` SDK 2's handlers take. The body goes to them already parsed
 * (`parsedBody`), so the `Request` carries none; `signal` fires when the client hangs up.
 */
export function toWebRequest(request: FastifyRequest, signal: AbortSignal): Request {
  const headers = new Headers();
  for (const [name, value] of Object.entries(request.headers)) {
    if (value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) headers.append(name, v);
  }
  const host = request.headers.host ?? 'localhost';
  return new Request(`${request.protocol}://${host}${request.url}`, { method: request.method, headers, signal });
}

/**
 * Writes a web `Response` (a JSON body, or an event stream written as it is produced) to the raw Node response.
 * Stops reading when the client hangs up.
 */
export async function writeWebResponse(
  response: Response,
  raw: ServerResponse,
  extraHeaders: Record<string, string>,
): Promise<void> {
  const headers: Record<string, string> = { ...extraHeaders };
  response.headers.forEach((value, name) => {
    headers[name] = value;
  });
  raw.writeHead(response.status, headers);
  if (!response.body) {
    raw.end();
    return;
  }
  const reader: ReadableStreamDefaultReader<Uint8Array> = response.body.getReader();
  const stop = () => void reader.cancel().catch(() => undefined);
  raw.once('close', stop);
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      // Event streams flush each frame at once (progress must reach the client before the result).
      if (!raw.write(value)) await new Promise<void>((resolve) => raw.once('drain', resolve));
    }
  } catch {
    // The client went away mid-stream, or the handler aborted the stream: nothing more to write.
  } finally {
    raw.off('close', stop);
    raw.end();
  }
}
