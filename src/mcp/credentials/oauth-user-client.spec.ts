import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ServerEntry } from 'src/config/config.schema';
import { EngineError } from '../engine-error';
import { OAuthUserClient, resourceMetadataOf } from './oauth-user-client';

/** A loopback server playing an upstream and its authorization server, answering by path. */
async function serve(
  routes: (origin: string) => Record<string, (req: IncomingMessage, res: ServerResponse) => void>,
): Promise<{ origin: string; server: Server; hits: string[] }> {
  const hits: string[] = [];
  let table: ReturnType<typeof routes> = {};
  const server = createServer((req, res) => {
    hits.push(`${req.method} ${req.url}`);
    const route = table[`${req.method} ${req.url}`];
    if (route) route(req, res);
    else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  table = routes(origin);
  return { origin, server, hits };
}
const json = (body: unknown) => (_req: IncomingMessage, res: ServerResponse) =>
  res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
const asMetadata = (origin: string) => ({
  issuer: `${origin}/as`,
  authorization_endpoint: `${origin}/as/auth`,
  token_endpoint: `${origin}/as/token`,
  registration_endpoint: `${origin}/as/reg`,
});
const entry = (url: string, auth: Partial<ServerEntry['auth']> = {}) =>
  ({ type: 'http', url, auth: { mode: 'oauth-user', ...auth } }) as unknown as ServerEntry;

describe('OAuthUserClient discovery', () => {
  const servers: Server[] = [];
  afterEach(() => servers.splice(0).forEach((s) => s.close()));

  it("reads resource_metadata from the upstream's 401, then OpenID discovery when RFC 8414 has none", async () => {
    const { origin, server, hits } = await serve((o) => ({
      'POST /mcp': (_req, res) =>
        res.writeHead(401, { 'www-authenticate': `Bearer resource_metadata="${o}/prm"` }).end(),
      'GET /prm': json({ resource: `${o}/mcp`, authorization_servers: [`${o}/as`] }),
      'GET /as/.well-known/openid-configuration': json(asMetadata(o)),
    }));
    servers.push(server);
    const found = await new OAuthUserClient().discover('up', entry(`${origin}/mcp`));
    expect(found).toMatchObject({ issuer: `${origin}/as`, resource: `${origin}/mcp`, algorithm: 'oidc' });
    expect(new OAuthUserClient().canRegister(found)).toBe(true);
    expect(hits).toContain('GET /.well-known/oauth-authorization-server/as');
  });

  it('falls back to the well-known protected resource URL, and refuses metadata that names another resource', async () => {
    const { origin, server } = await serve((o) => ({
      'POST /mcp': (_req, res) => res.writeHead(401).end(),
      'GET /.well-known/oauth-protected-resource/mcp': json({
        resource: `${o}/elsewhere`,
        authorization_servers: [`${o}/as`],
      }),
    }));
    servers.push(server);
    const error = await new OAuthUserClient().discover('up', entry(`${origin}/mcp`)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EngineError);
    expect((error as EngineError).details).toMatchObject({ reason: 'protected-resource-discovery' });
  });

  it('uses a configured authorization server and resource without asking the upstream', async () => {
    const { origin, server, hits } = await serve((o) => ({
      'GET /.well-known/oauth-authorization-server/as': json(asMetadata(o)),
    }));
    servers.push(server);
    const found = await new OAuthUserClient().discover(
      'up',
      entry(`${origin}/mcp`, { authorizationServer: `${origin}/as`, resource: 'https://api.example/' }),
    );
    expect(found).toMatchObject({ resource: 'https://api.example/', algorithm: 'oauth2' });
    expect(hits).toEqual(['GET /.well-known/oauth-authorization-server/as']);
  });

  it('builds an authorization URL with PKCE S256, state and the resource indicator', async () => {
    const { origin, server } = await serve((o) => ({
      'GET /.well-known/oauth-authorization-server/as': json(asMetadata(o)),
    }));
    servers.push(server);
    const client = new OAuthUserClient();
    const found = await client.discover('up', entry(`${origin}/mcp`, { authorizationServer: `${origin}/as` }));
    const url = new URL(
      await client.authorizationUrl(
        found,
        { clientId: 'gw' },
        {
          redirectUri: 'https://gw.example/api/connections/callback',
          state: 'st',
          verifier: 'v'.repeat(43),
          scope: 'read',
        },
      ),
    );
    expect(Object.fromEntries(url.searchParams)).toMatchObject({
      client_id: 'gw',
      response_type: 'code',
      state: 'st',
      code_challenge_method: 'S256',
      resource: `${origin}/mcp`,
      scope: 'read',
    });
    expect(url.searchParams.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });
});

describe('resourceMetadataOf', () => {
  it('takes the resource_metadata of a Bearer challenge, and nothing from a header without a usable one', () => {
    expect(resourceMetadataOf('Bearer error="invalid_token", resource_metadata="https://a.example/prm"')).toBe(
      'https://a.example/prm',
    );
    expect(resourceMetadataOf('Bearer realm="x"')).toBeUndefined();
    expect(resourceMetadataOf('Bearer resource_metadata="javascript:alert(1)"')).toBeUndefined();
    expect(resourceMetadataOf(null)).toBeUndefined();
  });
});
