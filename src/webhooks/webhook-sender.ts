import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import { isIP } from 'node:net';

export interface SendResult {
  /** HTTP status of the receiver's answer; undefined when there was none (refused, reset, timeout...). */
  statusCode?: number;
  error?: string;
}

/** Bytes of a receiver's answer read before the socket is dropped: the status is all that counts. */
const MAX_RESPONSE_BYTES = 64 * 1024;

/**
 * POSTs `body` to `url`, connecting only to `addresses` (already checked against the upstream-host policy): the
 * host name is not resolved again, so a DNS answer that changed since the check cannot send the delivery elsewhere.
 * TLS still verifies the certificate against the URL's host name. Redirects are not followed.
 */
export function postJson(
  url: URL,
  addresses: readonly string[],
  body: string,
  headers: Record<string, string>,
  timeoutMs: number,
): Promise<SendResult> {
  const pinned = addresses.map((address) => ({ address, family: isIP(address) === 6 ? 6 : 4 }));
  const lookup: LookupFunction = (_host, options, callback) => {
    const first = pinned[0];
    if (!first) {
      callback(new Error('no address to connect to'), '', 4);
      return;
    }
    if (options.all) (callback as unknown as (e: null, all: typeof pinned) => void)(null, pinned);
    else callback(null, first.address, first.family);
  };
  const client = url.protocol === 'https:' ? https : http;
  return new Promise((resolve) => {
    let settled = false;
    const finish = (result: SendResult) => {
      if (settled) return;
      settled = true;
      resolve(result);
    };
    const request = client.request(
      url,
      {
        method: 'POST',
        lookup,
        agent: false,
        headers: { ...headers, 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) },
        signal: AbortSignal.timeout(timeoutMs),
      },
      (response) => {
        let read = 0;
        response.on('data', (chunk: Buffer) => {
          read += chunk.length;
          if (read > MAX_RESPONSE_BYTES) response.destroy();
        });
        response.on('error', () => undefined);
        response.on('close', () => finish({ statusCode: response.statusCode }));
      },
    );
    request.on('error', (error: NodeJS.ErrnoException) =>
      finish({ error: error.name === 'AbortError' ? `no answer within ${timeoutMs} ms` : describe(error) }),
    );
    request.end(body);
  });
}

function describe(error: NodeJS.ErrnoException): string {
  return (error.code ? `${error.code}: ${error.message}` : error.message).slice(0, 1000);
}
