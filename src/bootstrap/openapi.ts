import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule, type OpenAPIObject } from '@nestjs/swagger';
import { SECURITY_SCHEMES } from 'src/auth/authenticated.decorator';
import { ErrorEnvelopeDto } from 'src/common/errors/error-envelope.dto';

const SCOPE_DESCRIPTIONS = {
  'mcp:read': 'List and read servers, tools, resources, prompts',
  'mcp:write': 'Execute tools',
  'mcp:admin': 'Manage servers and API keys, raw messages (implies every scope)',
};

export const OPENAPI_JSON_PATHS = ['/v3/api-docs', '/docs-json'] as const;

export function buildOpenApiDocument(app: NestFastifyApplication, version: string): OpenAPIObject {
  const config = new DocumentBuilder()
    .setTitle('globalmcp')
    .setDescription(
      'Enterprise MCP gateway: one REST API in front of many Model Context Protocol servers. ' +
        'Errors use the envelope {"error":{"code","message","details","request_id","timestamp"}}; every response carries X-Request-Id.',
    )
    .setVersion(version)
    .addBearerAuth(
      {
        type: 'http',
        scheme: 'bearer',
        bearerFormat: 'JWT',
        description: 'HS256 token signed with mcp.security.jwt.secret',
      },
      SECURITY_SCHEMES.bearer,
    )
    .addOAuth2(
      {
        type: 'oauth2',
        description:
          'Access token of the OAuth2 issuer (spring.security.oauth2.resourceserver.jwt.issuer-uri), sent as Authorization: Bearer',
        flows: { clientCredentials: { tokenUrl: '/oauth2/token', scopes: SCOPE_DESCRIPTIONS } },
      },
      SECURITY_SCHEMES.oauth2,
    )
    .addApiKey(
      { type: 'apiKey', in: 'header', name: 'X-API-Key', description: 'Key created with POST /api/api-keys' },
      SECURITY_SCHEMES.apiKey,
    )
    .build();
  const document = SwaggerModule.createDocument(app, config, {
    operationIdFactory: (_controllerKey, methodKey) => methodKey,
    extraModels: [ErrorEnvelopeDto],
  });
  return sortKeys(document);
}

/** Swagger UI at /docs (and Spring's /swagger-ui.html), the JSON document at /v3/api-docs and /docs-json. */
export function mountOpenApi(app: NestFastifyApplication, document: OpenAPIObject): void {
  SwaggerModule.setup('docs', app, document, {
    jsonDocumentUrl: OPENAPI_JSON_PATHS[0],
    yamlDocumentUrl: '/v3/api-docs.yaml',
    customSiteTitle: 'globalmcp API',
    swaggerOptions: { persistAuthorization: true, displayRequestDuration: true },
  });
  const fastify = app.getHttpAdapter().getInstance();
  fastify.get(OPENAPI_JSON_PATHS[1], (_request, reply) => reply.send(document));
  fastify.get('/swagger-ui.html', (_request, reply) => reply.redirect('/docs', 302));
}

/** Deterministic key order, so the committed document diffs cleanly. */
function sortKeys<T>(value: T): T {
  if (Array.isArray(value)) return value.map(sortKeys) as T;
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((k) => [k, sortKeys((value as Record<string, unknown>)[k])]),
    ) as T;
  }
  return value;
}
