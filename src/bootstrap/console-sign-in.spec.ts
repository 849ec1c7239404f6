import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ConsoleConnectOrigins, withConnectSources } from './console-sign-in';

describe('withConnectSources', () => {
  const helmet = "default-src 'self';base-uri 'self';script-src 'self';object-src 'none'";

  it("adds a connect-src of 'self' and the origins when the policy has none (default-src applied)", () => {
    expect(withConnectSources(helmet, ['https://id.example.com'])).toBe(
      `${helmet};connect-src 'self' https://id.example.com`,
    );
  });

  it('widens an existing connect-src, and leaves the policy alone without origins', () => {
    expect(withConnectSources("default-src 'self'; connect-src 'self'", ['https://a', 'https://b'])).toBe(
      "default-src 'self';connect-src 'self' https://a https://b",
    );
    expect(withConnectSources(helmet, [])).toBe(helmet);
  });
});

describe('ConsoleConnectOrigins', () => {
  let server: Server;
  let issuer: string;
  let metadataFetches = 0;
  let tokenEndpoint: string | undefined;

  beforeAll(async () => {
    server = createServer((req, res) => {
      metadataFetches++;
      if (req.url === '/realm/.well-known/openid-configuration' && tokenEndpoint) {
        res
          .writeHead(200, { 'content-type': 'application/json' })
          .end(JSON.stringify({ token_endpoint: tokenEndpoint }));
      } else res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}/realm`;
  });
  afterAll(() => new Promise((resolve) => server.close(resolve)));
  beforeEach(() => (metadataFetches = 0));

  it("adds the token endpoint's origin (read once) to the issuer's", async () => {
    tokenEndpoint = 'https://tokens.example.com/oauth/token';
    const origins = new ConsoleConnectOrigins(issuer);
    expect(await origins.origins()).toEqual([new URL(issuer).origin, 'https://tokens.example.com']);
    expect(await origins.origins()).toEqual([new URL(issuer).origin, 'https://tokens.example.com']);
    expect(metadataFetches).toBe(1);
  });

  it("keeps the issuer's origin alone while its metadata cannot be read, without asking again at once", async () => {
    tokenEndpoint = undefined;
    const origins = new ConsoleConnectOrigins(issuer);
    expect(await origins.origins()).toEqual([new URL(issuer).origin]);
    expect(await origins.origins()).toEqual([new URL(issuer).origin]);
    expect(metadataFetches).toBe(1);
  });
});
