import { AppException } from 'src/common/errors/app.exception';
import { MASK } from 'src/config/mask-secrets';
import { type UpstreamAuth, upstreamAuthSchema } from 'src/config/upstream-auth.schema';

/**
 * `configuration.auth` of a server registered through the API: the same settings as `mcp.servers.<id>.auth` in the
 * configuration file, in the API's snake_case, validated by the same schema. The client secret is kept apart, sealed
 * with the server's other secrets; the rest is stored in `mcp_servers.configuration.auth`; responses mask the secret.
 */
export interface StoredUpstreamAuth {
  mode: UpstreamAuth['mode'];
  token_endpoint?: string;
  client_id?: string;
  audience?: string;
  resource?: string;
  scope?: string;
  authorization_server?: string;
  redirect_uri?: string;
  claims?: Record<string, string>;
  max_connections?: number;
  idle_timeout?: number;
}

const FIELDS: Readonly<Record<string, keyof UpstreamAuth>> = {
  mode: 'mode',
  token_endpoint: 'tokenEndpoint',
  client_id: 'clientId',
  client_secret: 'clientSecret',
  audience: 'audience',
  resource: 'resource',
  scope: 'scope',
  authorization_server: 'authorizationServer',
  redirect_uri: 'redirectUri',
  claims: 'claims',
  max_connections: 'maxConnections',
  idle_timeout: 'idleTimeout',
};
const SNAKE = Object.fromEntries(Object.entries(FIELDS).map(([snake, camel]) => [camel, snake]));

/**
 * Validates `configuration.auth` as sent (a `***` client secret keeps `storedSecret`): the settings, or a 400 naming
 * the field. Nothing is stored by the caller before this passes.
 */
export function parseAuthInput(input: unknown, storedSecret: string | undefined): UpstreamAuth {
  if (typeof input !== 'object' || input === null || Array.isArray(input))
    throw AppException.invalid('configuration.auth must be an object', [
      { field: 'configuration.auth', problems: ['must be an object'] },
    ]);
  const camel: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(input as Record<string, unknown>)) {
    const field = FIELDS[key];
    if (!field)
      throw AppException.invalid(`configuration.auth.${key.slice(0, 64)} is not a setting`, [
        {
          field: `configuration.auth.${key.slice(0, 64)}`,
          problems: [`expected one of ${Object.keys(FIELDS).join(', ')}`],
        },
      ]);
    camel[field] = value;
  }
  if (camel.clientSecret === MASK) camel.clientSecret = storedSecret;
  const parsed = upstreamAuthSchema.safeParse(camel);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const [first, ...rest] = issue.path.map(String);
  const field = ['configuration.auth', first ? (SNAKE[first] ?? first) : undefined, ...rest].filter(Boolean).join('.');
  throw AppException.invalid(`${field}: ${issue.message}`, [{ field, problems: [issue.message] }]);
}

/** The non-secret part, for `mcp_servers.configuration.auth`. */
export function storedAuth(auth: UpstreamAuth): StoredUpstreamAuth {
  return {
    mode: auth.mode,
    token_endpoint: auth.tokenEndpoint,
    client_id: auth.clientId,
    audience: auth.audience,
    resource: auth.resource,
    scope: auth.scope,
    authorization_server: auth.authorizationServer,
    redirect_uri: auth.redirectUri,
    claims: Object.keys(auth.claims).length > 0 ? auth.claims : undefined,
    max_connections: auth.maxConnections,
    idle_timeout: auth.idleTimeout,
  };
}

/** The stored settings and the opened secret, back to the configuration's shape (the engine's `ServerEntry.auth`). */
export function authFromStored(stored: StoredUpstreamAuth, clientSecret: string | undefined): UpstreamAuth {
  return upstreamAuthSchema.parse({
    mode: stored.mode,
    tokenEndpoint: stored.token_endpoint,
    clientId: stored.client_id,
    clientSecret,
    audience: stored.audience,
    resource: stored.resource,
    scope: stored.scope,
    claims: stored.claims ?? {},
    maxConnections: stored.max_connections,
    idleTimeout: stored.idle_timeout,
  });
}

/** As responses show it: snake_case, the client secret `***`. */
export function publicAuth(auth: UpstreamAuth | undefined): Record<string, unknown> | undefined {
  if (!auth) return undefined;
  const shown: Record<string, unknown> = { ...storedAuth(auth) };
  if (auth.clientSecret !== undefined) shown.client_secret = MASK;
  return Object.fromEntries(Object.entries(shown).filter(([, v]) => v !== undefined));
}
