import createClient, { type Client } from 'openapi-fetch';
import type { paths } from './api/schema';
import { CliError, ExitCode, exitCodeForStatus } from './exit-codes';
import { profilePath, readProfile } from './profile';

export const DEFAULT_URL = 'http://localhost:8080';

export type ApiClient = Client<paths>;

/** The options every client command has (commander's global options). */
export interface ConnectionOptions {
  url?: string;
  apiKey?: string;
}

export interface Connection {
  url: string;
  apiKey?: string;
  api: ApiClient;
}

/**
 * Where and as whom: `--url`, else `GLOBALMCP_URL`, else the profile's, else http://localhost:8080; the key from
 * `--api-key`, else `GLOBALMCP_API_KEY`, else the profile (read only when needed, so a loose profile does not
 * stop a command given its key explicitly).
 */
export function resolveConnection(options: ConnectionOptions, env: NodeJS.ProcessEnv = process.env): Connection {
  let url = options.url ?? env.GLOBALMCP_URL;
  let apiKey = options.apiKey ?? env.GLOBALMCP_API_KEY;
  if (url === undefined || apiKey === undefined) {
    const profile = readProfile(profilePath(env));
    // The profile's key goes only to the profile's gateway.
    if (profile && (url === undefined || sameOrigin(url, profile.url))) {
      url ??= profile.url;
      apiKey ??= profile.apiKey;
    }
  }
  url = (url ?? DEFAULT_URL).replace(/\/+$/, '');
  try {
    new URL(url);
  } catch {
    throw new CliError(ExitCode.usage, `--url is not a URL: ${url}`);
  }
  return { url, apiKey, api: createApiClient(url, apiKey) };
}

export function createApiClient(url: string, apiKey: string | undefined): ApiClient {
  return createClient<paths>({
    baseUrl: url,
    headers: apiKey ? { 'X-API-Key': apiKey } : {},
    // Errors are thrown with the gateway's exit code, never left for each command to check.
    fetch: (request: Request) =>
      fetch(request).catch((error: unknown) => {
        const cause = (error as { cause?: { code?: string; message?: string } }).cause;
        throw new CliError(
          ExitCode.unreachable,
          `cannot reach the gateway at ${new URL(request.url).origin}: ${cause?.code ?? cause?.message ?? String(error)}`,
        );
      }),
  });
}

interface Envelope {
  error?: { code?: unknown; message?: unknown; request_id?: unknown; details?: unknown };
}

/**
 * The data of an openapi-fetch answer, or a CliError from its error envelope (code, message, request id) and the
 * exit code its status means.
 */
export function unwrap<T>(answer: { data?: T; error?: unknown; response: Response }): T {
  if (answer.response.ok && answer.error === undefined) return answer.data as T;
  throw errorFrom(answer.response, answer.error);
}

export function errorFrom(response: Response, body: unknown): CliError {
  const error = (body as Envelope | undefined)?.error;
  const exitCode = exitCodeForStatus(response.status);
  if (error && typeof error.code === 'string' && typeof error.message === 'string') {
    const requestId = typeof error.request_id === 'string' ? error.request_id : response.headers.get('x-request-id');
    return new CliError(exitCode, `${error.code}: ${error.message}${requestId ? ` (request id ${requestId})` : ''}`, {
      code: error.code,
      message: error.message,
      ...(requestId ? { request_id: requestId } : {}),
      ...(error.details !== undefined && error.details !== null ? { details: error.details } : {}),
    });
  }
  const requestId = response.headers.get('x-request-id');
  return new CliError(
    exitCode,
    `HTTP ${response.status} ${response.statusText}${requestId ? ` (request id ${requestId})` : ''}`,
  );
}

function sameOrigin(a: string, b: string): boolean {
  try {
    return new URL(a).origin === new URL(b).origin;
  } catch {
    return false;
  }
}
