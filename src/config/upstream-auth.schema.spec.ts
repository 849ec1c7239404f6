import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from './config.loader';
import { maskSecrets } from './mask-secrets';

/** `mcp.servers.<id>.auth` through the real loader: YAML in Spring's kebab-case, validated once, secrets masked. */
describe('mcp.servers.<id>.auth', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(path.join(os.tmpdir(), 'globalmcp-auth-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const load = (server: string) => {
    const file = path.join(dir, 'application.yml');
    writeFileSync(file, `mcp:\n  servers:\n    up:\n${server.replace(/^/gm, '      ')}\n`);
    return loadConfig({ configFiles: file, env: {}, appRoot: dir });
  };
  const refusal = (server: string) => {
    try {
      load(server);
    } catch (error) {
      return (error as Error).message;
    }
    throw new Error('loaded');
  };
  const client = 'token-endpoint: https://idp.example/token\n  client-id: globalmcp\n  client-secret: s3cret-value';

  it('loads each mode, with the client secret masked wherever the configuration is shown', () => {
    const { config } = load(
      `type: http\nurl: https://mcp.example/mcp\nauth:\n  mode: token-exchange\n  ${client}\n  audience: https://mcp.example`,
    );
    expect(config.mcp.servers.up!.auth).toMatchObject({
      mode: 'token-exchange',
      tokenEndpoint: 'https://idp.example/token',
      clientId: 'globalmcp',
      clientSecret: 's3cret-value',
      maxConnections: 100,
      idleTimeout: 300_000,
    });
    expect(JSON.stringify(maskSecrets(config))).not.toContain('s3cret-value');
    const mesh = load(
      'type: http\nurl: https://mcp.example/mcp\nauth:\n  mode: claims-to-headers\n  claims:\n    X-User-Email: email\n    X-Roles: realm_access.roles\n  idle-timeout: 1m',
    );
    expect(mesh.config.mcp.servers.up!.auth).toMatchObject({
      claims: { 'X-User-Email': 'email', 'X-Roles': 'realm_access.roles' },
      idleTimeout: 60_000,
    });
  });

  it('refuses an unknown mode, naming the ones there are', () => {
    expect(refusal('type: http\nurl: https://mcp.example/mcp\nauth:\n  mode: kerberos')).toMatch(
      /mcp\.servers\.up\.auth\.mode.*unknown upstream credential mode; expected one of static, oauth-client-credentials, token-exchange, claims-to-headers, oauth-user/s,
    );
  });

  it('loads oauth-user with a pre-registered or no client, and refuses a secret without its client or a foreign callback', () => {
    const { config } = load(
      'type: http\nurl: https://mcp.example/mcp\nauth:\n  mode: oauth-user\n  client-id: gw\n  client-secret: s3cret-value\n  scope: read write',
    );
    expect(config.mcp.servers.up!.auth).toMatchObject({ mode: 'oauth-user', clientId: 'gw', scope: 'read write' });
    expect(JSON.stringify(maskSecrets(config))).not.toContain('s3cret-value');
    expect(
      load('type: http\nurl: https://mcp.example/mcp\nauth:\n  mode: oauth-user').config.mcp.servers.up!.auth,
    ).toMatchObject({ mode: 'oauth-user' });
    expect(
      refusal('type: http\nurl: https://mcp.example/mcp\nauth:\n  mode: oauth-user\n  client-secret: s3cret-value'),
    ).toMatch(/oauth-user with a client-secret needs the client-id/);
    expect(
      refusal(
        'type: http\nurl: https://mcp.example/mcp\nauth:\n  mode: oauth-user\n  redirect-uri: https://gw.example/elsewhere',
      ),
    ).toMatch(/redirect-uri must be the gateway's '\/api\/connections\/callback'/);
    expect(refusal('type: stdio\ncommand: node\nauth:\n  mode: oauth-user')).toMatch(/is for http\/sse servers/);
  });

  it('refuses a client mode without its client secret, and token exchange without an audience', () => {
    expect(
      refusal(
        'type: http\nurl: https://mcp.example/mcp\nauth:\n  mode: oauth-client-credentials\n  token-endpoint: https://idp.example/token\n  client-id: globalmcp',
      ),
    ).toMatch(/client-?secret.*oauth-client-credentials needs a client-secret/is);
    expect(refusal(`type: http\nurl: https://mcp.example/mcp\nauth:\n  mode: token-exchange\n  ${client}`)).toMatch(
      /token-exchange needs an audience or a resource/,
    );
  });

  it('refuses claims-to-headers without claims or onto a header the transport owns, and caller modes on stdio', () => {
    expect(refusal('type: http\nurl: https://mcp.example/mcp\nauth:\n  mode: claims-to-headers')).toMatch(
      /needs at least one claim/,
    );
    expect(
      refusal(
        'type: http\nurl: https://mcp.example/mcp\nauth:\n  mode: claims-to-headers\n  claims:\n    Authorization: sub',
      ),
    ).toMatch(/'Authorization' is managed by the gateway/);
    expect(refusal(`type: stdio\ncommand: node\nauth:\n  mode: oauth-client-credentials\n  ${client}`)).toMatch(
      /is for http\/sse servers/,
    );
  });
});
