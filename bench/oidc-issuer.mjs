// A real OpenID Provider on loopback for the bearer-token phase of `npm run bench`: oidc-provider (panva, certified)
// with the client-credentials grant and resource indicators issuing RS256 JWT access tokens (`typ: at+jwt`, `kid`),
// discovery at /.well-known/openid-configuration and the JWKS it points at. Run as its own process by
// bench/auth-paths.mjs:
//
//   node bench/oidc-issuer.mjs '{"port":0,"resource":"https://gateway.bench/","scope":"mcp:read mcp:write"}'
//
// Prints `READY <issuer> <client_id> <client_secret>` once listening; stops on SIGTERM.
import { randomBytes } from 'node:crypto';
import { exportJWK, generateKeyPair } from 'jose';
import Provider from 'oidc-provider';

const options = JSON.parse(process.argv[2] ?? '{}');
const clientId = 'globalmcp-bench';
const clientSecret = randomBytes(24).toString('base64url');
const { privateKey } = await generateKeyPair('RS256', { extractable: true });
const jwk = { ...(await exportJWK(privateKey)), kid: 'bench-rs256-1', alg: 'RS256', use: 'sig' };

const server = (await import('node:http')).createServer();
await new Promise((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
const issuer = `http://127.0.0.1:${server.address().port}`;

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: clientId,
      client_secret: clientSecret,
      grant_types: ['client_credentials'],
      redirect_uris: [],
      response_types: [],
    },
  ],
  jwks: { keys: [jwk] },
  scopes: options.scope.split(' '),
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => options.resource,
      useGrantedResource: () => true,
      getResourceServerInfo: () => ({
        scope: options.scope,
        audience: options.resource,
        accessTokenTTL: 3600,
        accessTokenFormat: 'jwt',
        jwt: { sign: { alg: 'RS256' } },
      }),
    },
  },
});
server.on('request', provider.callback());
process.stdout.write(`READY ${issuer} ${clientId} ${clientSecret}\n`);
process.on('SIGTERM', () => server.close(() => process.exit(0)));
