import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import helmet, { type HelmetOptions } from 'helmet';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { SecureContextOptions } from 'node:tls';
import { renderEnvelope } from 'src/common/errors/all-exceptions.filter';
import { toAppException } from 'src/common/errors/to-app-exception';
import { EMPTY_JSON_BODY_IS_EMPTY_OBJECT } from 'src/common/http/empty-json-body';
import { FORM_BODY } from 'src/common/http/form-body';
import { REQUEST_ID_HEADER, requestIdFor } from 'src/common/http/request-id';
import type { AppConfig } from 'src/config/config.schema';

/**
 * Deepest JSON nesting a request body may have. Far beyond any real payload (tool arguments included), far below
 * what recursive code (class-transformer, class-validator, logging) survives: a body of 10,000 nested arrays used
 * to overflow the stack and answer 500.
 */
export const MAX_JSON_DEPTH = 128;

/**
 * Peers whose X-Forwarded-For/-Proto/-Host are believed: loopback and private networks, where a load balancer or
 * ingress sits (the internal proxies Tomcat's RemoteIpValve trusts by default). `trustProxy: true` believed anyone,
 * so a client on the internet could send a new X-Forwarded-For with each request and get a fresh per-address
 * rate-limit bucket for every failed authentication.
 */
export const TRUSTED_PROXIES = [
  '127.0.0.0/8',
  '::1/128',
  '10.0.0.0/8',
  '172.16.0.0/12',
  '192.168.0.0/16',
  '169.254.0.0/16',
  'fc00::/7',
  'fe80::/10',
];

export interface AdapterOptions {
  bodyLimit: number;
  https?: SecureContextOptions & { minVersion?: string; maxVersion?: string; ciphers?: string };
}

/**
 * One Fastify instance per listener. Fastify over Express: measured 41,800 vs 6,000 req/s on this machine
 * for a trivial route (see README, "Why Fastify").
 */
export function createFastifyAdapter(options: AdapterOptions): FastifyAdapter {
  const adapter = new FastifyAdapter({
    bodyLimit: options.bodyLimit,
    genReqId: requestIdFor,
    trustProxy: TRUSTED_PROXIES,
    logger: false,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 500 },
    // Errors of the router itself (malformed percent-encoding, a parameter over maxParamLength) never reach Nest:
    // answer them with the envelope and the request id like every other error.
    frameworkErrors: (error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
      const { exception } = toAppException(error);
      void reply
        .status(exception.status)
        .header(REQUEST_ID_HEADER, request.id)
        .type('application/json; charset=utf-8')
        .send(renderEnvelope(exception, String(request.id)));
    },
    ...(options.https ? { https: options.https } : {}),
  } as ConstructorParameters<typeof FastifyAdapter>[0]) as FastifyAdapter;
  // The API speaks JSON only (and a form on a FORM_BODY route, a page of the connection flow): any other body gets
  // 415 naming application/json (Nest's urlencoded parser is off:
  // see startGateway), instead of reaching validation as a bare string or a form's fields. An empty body is no body
  // on a route that takes none (cancel, restart, deletes), whatever its content type: clients send one with a type.
  const instance = adapter.getInstance();
  instance.removeContentTypeParser('text/plain');
  instance.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: options.bodyLimit }, (request, body, done) => {
    if (body.length === 0 && takesNoBody(request)) {
      done(null, undefined);
      return;
    }
    const type = request.headers['content-type'];
    const config = request.routeOptions.config as unknown as Record<string, unknown> | undefined;
    if (config?.[FORM_BODY] === true && /^application\/x-www-form-urlencoded\s*(;|$)/i.test(type ?? '')) {
      done(null, Object.fromEntries(new URLSearchParams(body.toString('utf8'))));
      return;
    }
    const error = new Error(
      `Unsupported Media Type${type ? ` '${type}'` : ' (none given)'}: request bodies must be application/json`,
    ) as FastifyError;
    Object.assign(error, { statusCode: 415, code: 'FST_ERR_CTP_INVALID_MEDIA_TYPE' });
    done(error, undefined);
  });
  // Fastify's own JSON parser (prototype-poisoning checks kept), behind a nesting-depth check. Registered through
  // Nest so that Nest does not add its default JSON parser over it at init.
  const parseJson = instance.getDefaultJsonParser('error', 'error');
  adapter.useBodyParser('application/json', false, { bodyLimit: options.bodyLimit }, (request, body, done) => {
    const text = body.toString('utf8');
    const config = request.routeOptions.config as unknown as Record<string, unknown> | undefined;
    if (text.length === 0 && (config?.[EMPTY_JSON_BODY_IS_EMPTY_OBJECT] === true || takesNoBody(request))) {
      done(null, undefined);
      return;
    }
    if (jsonDeeperThan(text, MAX_JSON_DEPTH)) {
      const error = new Error(`JSON body is nested deeper than ${MAX_JSON_DEPTH} levels`) as FastifyError;
      Object.assign(error, { statusCode: 400, code: 'FST_ERR_CTP_JSON_TOO_DEEP' });
      done(error, undefined);
      return;
    }
    void parseJson(request, text, done);
  });
  instance.addHook('onSend', (request, reply, payload, done) => {
    void reply.header(REQUEST_ID_HEADER, request.id);
    done(null, payload);
  });
  return adapter;
}

/** Per listener (its Node server): the routes whose handler takes no body (`METHOD /url`), set once routes are known. */
const bodylessByServer = new WeakMap<object, ReadonlySet<string>>();

/** Tells the body parsers of `adapter` which routes take no body (src/bootstrap/bodyless-routes.ts). */
export function setBodylessRoutes(adapter: FastifyAdapter, routes: ReadonlySet<string>): void {
  bodylessByServer.set(adapter.getInstance().server, routes);
}

function takesNoBody(request: FastifyRequest): boolean {
  const routes = bodylessByServer.get(request.server.server);
  return routes?.has(`${request.method} ${request.routeOptions.url}`) ?? request.method === 'DELETE';
}

/**
 * Request headers a browser page on an allowed origin may send (credentials, MCP session, request id, and the
 * options of a tool call: `Idempotency-Key`, `Prefer: respond-async`).
 */
const CORS_ALLOWED_HEADERS = [
  'Authorization',
  'Content-Type',
  'X-API-Key',
  'X-Request-Id',
  'Mcp-Session-Id',
  'Mcp-Protocol-Version',
  'Last-Event-ID',
  'Idempotency-Key',
  'Prefer',
];
/**
 * Response headers such a page may read: the request id, the rate-limit state, the MCP session, and where a job
 * started (`Location`, `Preference-Applied`).
 */
const CORS_EXPOSED_HEADERS = [
  'X-Request-Id',
  'X-RateLimit-Limit',
  'X-RateLimit-Remaining',
  'X-RateLimit-Reset',
  'Retry-After',
  'Mcp-Session-Id',
  'Location',
  'Preference-Applied',
];

/**
 * Browser-facing protections of the API listener, with the maintained libraries rather than hand-written headers:
 * - `helmet`: its defaults (CSP `default-src 'self'`, nosniff, X-Frame-Options SAMEORIGIN, HSTS, no Referer, COOP,
 *   ...). Swagger UI works under the default CSP: @nestjs/swagger serves its scripts and styles as files from this
 *   origin, with no inline script. Every response gets the same headers, so helmet runs once at start-up
 *   ({@link helmetHeaders}) and a hook copies its result: `@fastify/helmet` rebuilt the helmet middleware (options,
 *   CSP directives) on every request in two hooks, ~22 µs per request on this machine (bench profile).
 * - `@fastify/cors` (through Nest's `enableCors`, which orders its hook before the guards) only when
 *   `mcp.security.cors.allowed-origins` lists origins: closed by default, so a page elsewhere cannot read the
 *   API with a user's credentials. `*` allows any origin. Credentials travel in headers (X-API-Key, Bearer),
 *   never cookies, so `Access-Control-Allow-Credentials` is not needed.
 */
export function applyHttpSecurity(app: NestFastifyApplication, config: AppConfig): void {
  const origins = config.mcp.security.cors.allowedOrigins;
  const headers = helmetHeaders({
    contentSecurityPolicy: {
      // helmet's default `upgrade-insecure-requests` makes a browser fetch Swagger UI's scripts over https from a
      // plain-HTTP listener (any host name but localhost), where nothing answers: only with TLS on.
      directives: { upgradeInsecureRequests: config.server.ssl.enabled ? [] : null },
    },
    // With CORS open to other origins, their pages must also be able to load responses in no-cors mode.
    crossOriginResourcePolicy: { policy: origins.length > 0 ? 'cross-origin' : 'same-origin' },
  });
  // On the raw response, as helmet itself would: the routes that hijack the reply (the MCP endpoint's streams) and
  // write their own head keep them too.
  app
    .getHttpAdapter()
    .getInstance()
    .addHook('onRequest', (_request, reply, done) => {
      const raw = reply.raw;
      for (const [name, value] of headers) raw.setHeader(name, value);
      done();
    });
  if (origins.length === 0) return;
  app.enableCors({
    origin: origins.includes('*') ? '*' : origins,
    methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
    allowedHeaders: CORS_ALLOWED_HEADERS,
    exposedHeaders: CORS_EXPOSED_HEADERS,
    credentials: false,
    maxAge: 600,
  });
}

/**
 * The headers helmet sets with these options, found by running its middleware once against a recording response.
 * Its options are fixed at start-up and none of them depends on the request (no CSP nonces), so every response
 * gets exactly these.
 */
export function helmetHeaders(options: Readonly<HelmetOptions>): ReadonlyArray<readonly [string, string]> {
  const headers = new Map<string, string>();
  const recorder = {
    setHeader(name: string, value: string | number | readonly string[]) {
      headers.set(name, Array.isArray(value) ? value.join(', ') : String(value));
      return this;
    },
    removeHeader(name: string) {
      headers.delete(name);
    },
  };
  let failure: unknown;
  helmet(options)({} as IncomingMessage, recorder as unknown as ServerResponse, (error?: unknown) => (failure = error));
  if (failure) throw failure instanceof Error ? failure : new Error('helmet refused its options');
  return [...headers];
}

/** Whether a JSON text opens more than `max` arrays/objects at once (a linear scan; strings are skipped). */
export function jsonDeeperThan(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) return true;
    } else if (c === 0x5d || c === 0x7d) {
      depth--;
    }
  }
  return false;
}
