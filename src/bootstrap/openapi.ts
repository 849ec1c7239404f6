import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule, type OpenAPIObject } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { stringify as toYaml } from 'yaml';
import { SECURITY_SCHEMES } from 'src/auth/authenticated.decorator';
import { CredentialVerifier } from 'src/auth/credential-verifier';
import { RateLimitService } from 'src/rate-limit/rate-limit.service';
import type { Principal } from 'src/auth/principal';
import { renderEnvelope } from 'src/common/errors/all-exceptions.filter';
import { toAppException } from 'src/common/errors/to-app-exception';
import { ErrorEnvelopeDto } from 'src/common/errors/error-envelope.dto';
import { APP_CONFIG } from 'src/config/config.module';
import type { AppConfig } from 'src/config/config.schema';
import { OpenApiDocumentService, sortKeys } from 'src/openapi/openapi-document.service';
import { upgradeToOpenApi31 } from 'src/openapi/openapi31';
import { withSecurityRequirements } from 'src/openapi/security-requirements';

const SCOPE_DESCRIPTIONS = {
  'mcp:read': 'List and read servers, tools, resources, prompts',
  'mcp:write': 'Execute tools',
  'mcp:admin': 'Manage servers and API keys, raw messages (implies every scope)',
};

type SecuritySchemeObject = Parameters<DocumentBuilder['addSecurity']>[1];

/**
 * The OAuth2 resource server's scheme, or undefined when OAuth2 access tokens are not accepted (no `issuer-uri` or
 * `jwk-set-uri`): then the document has no `oauth2` scheme, and Swagger UI no "Authorize" box that could not work.
 * The gateway verifies tokens but issues none, so it has no token URL of its own: with `issuer-uri`, an OpenID
 * Connect scheme pointing at the issuer's metadata (where clients find its token_endpoint and scopes); with only
 * `jwk-set-uri` (no issuer known), a bearer-JWT scheme that says whose keys sign the tokens.
 */
function oauth2Scheme(config: AppConfig): SecuritySchemeObject | undefined {
  const jwt = config.spring.security.oauth2.resourceserver.jwt;
  const scopes = Object.entries(SCOPE_DESCRIPTIONS)
    .map(([scope, description]) => `${scope} (${description})`)
    .join('; ');
  if (jwt.issuerUri) {
    return {
      type: 'openIdConnect',
      openIdConnectUrl: `${jwt.issuerUri.replace(/\/+$/, '')}/.well-known/openid-configuration`,
      description: `Access token (RS256/ES256) of the OAuth2 issuer ${jwt.issuerUri}, sent as Authorization: Bearer. Scopes: ${scopes}.`,
    };
  }
  if (jwt.jwkSetUri) {
    return {
      type: 'http',
      scheme: 'bearer',
      bearerFormat: 'JWT',
      description: `Access token (RS256/ES256) signed by a key of ${jwt.jwkSetUri}, from your authorization server (set issuer-uri to publish where), sent as Authorization: Bearer. Scopes: ${scopes}.`,
    };
  }
  return undefined;
}

export const OPENAPI_JSON_PATHS = ['/v3/api-docs', '/docs-json'] as const;

export function buildOpenApiDocument(app: NestFastifyApplication, version: string): OpenAPIObject {
  const oauth2 = oauth2Scheme(app.get<AppConfig>(APP_CONFIG));
  const builder = new DocumentBuilder()
    .setTitle('globalmcp')
    .setDescription(
      'Enterprise MCP gateway: one REST API in front of many Model Context Protocol servers. ' +
        'Errors use the envelope {"error":{"code","message","details","request_id","timestamp"}}; every response carries X-Request-Id.',
    )
    .setVersion(version)
    // 3.1: its Schema Objects are JSON Schema 2020-12, so the tools' input and output schemas fit unchanged.
    .setOpenAPIVersion('3.1.0')
    .addServer('/', 'This gateway')
    .addBearerAuth(
      {
        type: 'http',
        scheme: 'bearer',
        bearerFormat: 'JWT',
        description: 'HS256 token signed with mcp.security.jwt.secret',
      },
      SECURITY_SCHEMES.bearer,
    )
    .addApiKey(
      { type: 'apiKey', in: 'header', name: 'X-API-Key', description: 'Key created with POST /api/api-keys' },
      SECURITY_SCHEMES.apiKey,
    );
  if (oauth2) builder.addSecurity(SECURITY_SCHEMES.oauth2, oauth2);
  const document = SwaggerModule.createDocument(app, builder.build(), {
    operationIdFactory: (_controllerKey, methodKey) => methodKey,
    extraModels: [ErrorEnvelopeDto],
  });
  return sortKeys(withSecurityRequirements(upgradeToOpenApi31(document), oauth2 !== undefined));
}

/**
 * Swagger UI at /docs (and Spring's /swagger-ui.html), the JSON document at /v3/api-docs and /docs-json, YAML at
 * /v3/api-docs.yaml. The document is the static one plus one operation per tool of the live catalog (rebuilt when
 * the catalog changes). Without a credential it describes everything; with one (X-API-Key or Bearer) only what that
 * caller may call, and a refused credential is a 401 envelope rather than a silent full document.
 */
export function mountOpenApi(app: NestFastifyApplication, document: OpenAPIObject): void {
  const documents = app.get(OpenApiDocumentService);
  const credentials = app.get(CredentialVerifier);
  const rateLimit = app.get(RateLimitService);
  documents.setBase(document);
  SwaggerModule.setup('docs', app, document, {
    raw: false,
    customSiteTitle: 'globalmcp API',
    // The page loads without credentials, with the anonymous document; "Authorize" reloads it with the credential.
    patchDocumentOnRequest: () => documents.documentFor(),
    swaggerOptions: {
      persistAuthorization: true,
      displayRequestDuration: true,
      displayOperationId: true,
      filter: true,
      plugins: [reloadDocumentOnAuthorize],
      requestInterceptor: sendCredentialWithDocumentRequest,
    },
  });
  const fastify = app.getHttpAdapter().getInstance();
  const serve = (format: 'json' | 'yaml') => async (request: FastifyRequest, reply: FastifyReply) => {
    let principal: Principal | undefined;
    if (CredentialVerifier.presentedIn(request.headers)) {
      try {
        principal = await credentials.verifyHeaders(request.headers);
      } catch (error) {
        // As on the guarded routes, a refused credential counts against the client address: a flood of made-up keys
        // here gets 429 instead of a key lookup or a signature check each.
        let refusal = error;
        await rateLimit.consumeAnonymous(request.ip, reply).catch((limited: unknown) => (refusal = limited));
        const { exception } = toAppException(refusal);
        if (exception.headers) void reply.headers(exception.headers);
        return reply.status(exception.status).send(renderEnvelope(exception, String(request.id)));
      }
    }
    const body = documents.documentFor(principal);
    // A per-caller document must not be served from a shared cache to someone else.
    void reply.header('cache-control', 'no-store').header('vary', 'x-api-key, authorization');
    return format === 'json'
      ? reply.type('application/json; charset=utf-8').send(JSON.stringify(body))
      : reply.type('text/yaml; charset=utf-8').send(toYaml(body, { aliasDuplicateObjects: false }));
  };
  for (const path of OPENAPI_JSON_PATHS) fastify.get(path, serve('json'));
  fastify.get('/v3/api-docs.yaml', serve('yaml'));
  fastify.get('/swagger-ui.html', (_request, reply) => reply.redirect('/docs', 302));
}

// The two functions below run in the browser: @nestjs/swagger writes their source into swagger-ui-init.js, so they
// use nothing but browser globals (SwaggerUIBundle, location, ui) through globalThis. The document a caller sees depends on its credential
// (tool operations, scopes, allow-list): once authorized, Swagger UI fetches it again with that credential.

/** Swagger UI plugin: its URL download plugin, plus a reload of /v3/api-docs after authorize, logout and restore. */
function reloadDocumentOnAuthorize(system: { specActions: { download: (url: string) => void } }): unknown[] {
  const reload =
    (original: (payload: unknown) => unknown) =>
    (payload: unknown): unknown => {
      const result = original(payload);
      const { location } = globalThis as unknown as { location: { origin: string } };
      setTimeout(() => system.specActions.download(`${location.origin}/v3/api-docs`), 0);
      return result;
    };
  return [
    (globalThis as unknown as { SwaggerUIBundle: { plugins: { DownloadUrl: unknown } } }).SwaggerUIBundle.plugins
      .DownloadUrl,
    { statePlugins: { auth: { wrapActions: { authorize: reload, logout: reload, restoreAuthorization: reload } } } },
  ];
}

/** Swagger UI request interceptor: the document request carries the credential given to "Authorize". */
function sendCredentialWithDocumentRequest(request: { loadSpec?: boolean; headers: Record<string, string> }) {
  const ui = (globalThis as unknown as { ui?: { authSelectors: { authorized: () => { toJS: () => unknown } } } }).ui;
  if (!request.loadSpec || !ui) return request;
  const auth = ui.authSelectors.authorized().toJS() as Record<
    string,
    { value?: string; token?: { access_token?: string } } | undefined
  >;
  const apiKey = auth.api_key?.value;
  const bearer = auth.bearer?.value ?? auth.oauth2?.token?.access_token;
  if (apiKey) request.headers['X-API-Key'] = apiKey;
  else if (bearer) request.headers.Authorization = `Bearer ${bearer}`;
  return request;
}
