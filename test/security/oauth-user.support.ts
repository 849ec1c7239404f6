import { randomBytes } from 'node:crypto';
import { type FixtureProcess, startUserProvider, startWhoamiUpstream } from '../support/oauth-fixtures';
import { freePort } from '../support/ports';
import { createTestDatabase, type TestDatabase } from '../support/test-database';
import { startTestGateway, type TestGateway } from '../support/test-gateway';

// The world of test/security/oauth-user.e2e-spec.ts (ADR 0011): two OpenID Providers with login and consent pages
// (oidc-provider; the second takes Client ID Metadata Documents), an upstream for each that accepts only its
// provider's tokens for its own URL and answers who each request came as, and the gateway in front of them.
export const ACCESS_TTL_S = 4;
export const MESH_SECRET = 'mesh-secret-oauth-user-0123';
export const CLIENT_SECRET = 'pre-registered-client-secret-0123456789';
/** HS256 bearer tokens for a JWT principal (dave), who proves a link with his token. */
export const JWT_SECRET = 'oauth-user-e2e-hs256-secret-longer-than-32-bytes';
/** Replicas share the key of secrets at rest (the tokens are sealed with it). */
export const ENV = { GLOBALMCP_ENCRYPTION_KEY: randomBytes(32).toString('base64') };

/** What the whoami upstream answers. */
export interface Whoami {
  via: 'token' | 'mesh';
  sub?: string;
  client_id?: string;
  aud?: string;
  jti?: string;
  /** Seconds since the epoch the token was issued. */
  iat?: number;
}

export interface OAuthUserWorld {
  db: TestDatabase;
  upstream: FixtureProcess<string>;
  provider: FixtureProcess<string>;
  cimdProvider: FixtureProcess<string>;
  cimdUpstream: FixtureProcess<string>;
  issuer: string;
  cimdIssuer: string;
  /** `mcp.servers` of the gateway, for a second replica. */
  serversYaml: string;
  gateway: TestGateway;
  api: string;
}

/** Starts the providers, the upstreams and the gateway (its log in `logFile`); the caller stops each in afterAll. */
export async function startOAuthUserWorld(logFile: string): Promise<OAuthUserWorld> {
  const issuerPort = await freePort();
  const upstreamPort = await freePort();
  const issuer = `http://127.0.0.1:${issuerPort}`;
  const upstreamUrl = `http://127.0.0.1:${upstreamPort}/mcp`;
  const upstream = await startWhoamiUpstream({
    issuer,
    audience: upstreamUrl,
    meshSecret: MESH_SECRET,
    port: upstreamPort,
    resourceMetadata: true,
  });
  const cimdIssuerPort = await freePort();
  const cimdUpstreamPort = await freePort();
  const cimdIssuer = `http://127.0.0.1:${cimdIssuerPort}`;
  const cimdUrl = `http://127.0.0.1:${cimdUpstreamPort}/mcp`;
  const cimdUpstream = await startWhoamiUpstream({
    issuer: cimdIssuer,
    audience: cimdUrl,
    meshSecret: MESH_SECRET,
    port: cimdUpstreamPort,
    resourceMetadata: true,
  });
  const db = await createTestDatabase('oauth_user');
  // The pools list the catalog through the mesh header (the upstream lists for the mesh); calls go as each user.
  const server = (auth: string, url = upstreamUrl) => `
      type: http
      url: ${url}
      headers:
        x-mesh-secret: ${MESH_SECRET}
      auth:
        mode: oauth-user
        scope: whoami${auth}`;
  const serversYaml = `mcp:
  servers:
    pre:${server(`\n        client-id: globalmcp-user\n        client-secret: ${CLIENT_SECRET}`)}
    dyn:${server('')}
    cimd:${server('', cimdUrl)}
`;
  const gateway = await startTestGateway({
    databaseUrl: db.url,
    env: ENV,
    yaml: `${serversYaml}  security:
    jwt:
      secret: ${JWT_SECRET}
logging:
  level:
    UpstreamCredentials: DEBUG
  file:
    name: ${logFile}
`,
  });
  const api = gateway.addresses.api;
  const provider = await startUserProvider({
    port: issuerPort,
    upstreamResource: upstreamUrl,
    redirectUri: `${api}/api/connections/callback`,
    clientSecret: CLIENT_SECRET,
    accessTtl: ACCESS_TTL_S,
  });
  const cimdProvider = await startUserProvider({
    port: cimdIssuerPort,
    upstreamResource: cimdUrl,
    redirectUri: `${api}/api/connections/callback`,
    clientSecret: CLIENT_SECRET,
    accessTtl: 60,
    cimd: true,
  });
  return { db, upstream, provider, cimdProvider, cimdUpstream, issuer, cimdIssuer, serversYaml, gateway, api };
}
