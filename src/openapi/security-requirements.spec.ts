import type { OpenAPIObject } from '@nestjs/swagger';
import { requiredScopes, withSecurityRequirements } from './security-requirements';

const document = (): OpenAPIObject => ({
  openapi: '3.1.0',
  info: { title: 't', version: '1' },
  paths: {
    '/api/tools': {
      get: {
        operationId: 'listTools',
        security: [{ bearer: [] }, { oauth2: ['mcp:read'] }, { api_key: [] }],
        responses: {},
      },
    },
    '/api/health': { get: { operationId: 'health', responses: {} } },
  },
  components: {
    securitySchemes: {
      bearer: { type: 'http', scheme: 'bearer' },
      oauth2: { type: 'openIdConnect', openIdConnectUrl: 'https://idp/.well-known/openid-configuration' },
      api_key: { type: 'apiKey', in: 'header', name: 'X-API-Key' },
    },
  },
});

describe('withSecurityRequirements', () => {
  it('drops the oauth2 scheme and its requirements when OAuth2 tokens are not accepted, keeping the scopes', () => {
    const result = withSecurityRequirements(document(), false);
    expect(Object.keys(result.components!.securitySchemes!).sort()).toEqual(['api_key', 'bearer']);
    expect(result.paths['/api/tools']!.get!.security).toEqual([{ bearer: ['mcp:read'] }, { api_key: ['mcp:read'] }]);
    expect(requiredScopes(result.paths['/api/tools']!.get!)).toEqual(['mcp:read']);
  });

  it('keeps the oauth2 scheme when OAuth2 tokens are accepted, every scheme listing the scopes', () => {
    const result = withSecurityRequirements(document(), true);
    expect(Object.keys(result.components!.securitySchemes!).sort()).toEqual(['api_key', 'bearer', 'oauth2']);
    expect(result.paths['/api/tools']!.get!.security).toEqual([
      { bearer: ['mcp:read'] },
      { oauth2: ['mcp:read'] },
      { api_key: ['mcp:read'] },
    ]);
  });

  it('leaves public operations without security', () => {
    const result = withSecurityRequirements(document(), false);
    expect(result.paths['/api/health']!.get!.security).toBeUndefined();
    expect(requiredScopes(result.paths['/api/health']!.get!)).toEqual([]);
  });
});
