import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, exportSPKI, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose';

interface IssuerKey {
  alg: 'RS256' | 'ES256';
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  jwk: JWK;
}

export interface SignOptions {
  kid?: string;
  issuer?: string;
  audience?: string | string[];
  /** Seconds from now (negative: already expired). Default 300. */
  expiresIn?: number;
  /** Seconds from now. */
  notBefore?: number;
  /** Seconds from now (default 0). */
  issuedAt?: number;
  subject?: string;
}

/**
 * A real OAuth2 issuer on loopback, as far as a resource server sees one: OpenID metadata at
 * `<issuer>/.well-known/openid-configuration` and a JWKS with RS256/ES256 keys made by jose; signs tokens.
 */
export class TestIssuer {
  readonly keys = new Map<string, IssuerKey>();
  jwksFetches = 0;
  private constructor(
    private readonly server: Server,
    readonly issuer: string,
  ) {}

  static async start(): Promise<TestIssuer> {
    const state: { self?: TestIssuer } = {};
    const server = createServer((req, res) => {
      const self = state.self!;
      const base = self.issuer;
      const path = new URL(req.url ?? '/', base).pathname;
      if (path === '/realm/.well-known/openid-configuration') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ issuer: base, jwks_uri: `${base}/protocol/certs` }));
      } else if (path === '/realm/protocol/certs') {
        self.jwksFetches++;
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ keys: [...self.keys.values()].map((k) => k.jwk) }));
      } else {
        res.writeHead(404).end();
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    state.self = new TestIssuer(server, `http://127.0.0.1:${port}/realm`);
    return state.self;
  }

  async addKey(kid: string, alg: 'RS256' | 'ES256'): Promise<void> {
    const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
    const jwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
    this.keys.set(kid, { alg, privateKey, publicKey, jwk });
  }

  /** A key pair of the same kind that the JWKS does not publish (a forged signature). */
  async foreignKey(alg: 'RS256' | 'ES256'): Promise<CryptoKey> {
    return (await generateKeyPair(alg)).privateKey;
  }

  async publicKeyPem(kid: string): Promise<string> {
    return exportSPKI(this.keys.get(kid)!.publicKey);
  }

  async sign(claims: JWTPayload, options: SignOptions = {}, signWith?: CryptoKey): Promise<string> {
    const kid = options.kid ?? [...this.keys.keys()][0]!;
    const key = this.keys.get(kid);
    const alg = key?.alg ?? 'RS256';
    return build(claims, options, this.issuer)
      .setProtectedHeader({ alg, kid, typ: 'JWT' })
      .sign(signWith ?? key!.privateKey);
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/** An HS256 token signed with `secret` (the gateway's shared secret, or anything else). */
export function signHs256(secret: string | Uint8Array, claims: JWTPayload, options: SignOptions = {}, issuer?: string) {
  const key = typeof secret === 'string' ? new TextEncoder().encode(secret) : secret;
  return build(claims, options, issuer).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).sign(key);
}

function build(claims: JWTPayload, options: SignOptions, defaultIssuer?: string): SignJWT {
  const now = Math.floor(Date.now() / 1000);
  const jwt = new SignJWT(claims)
    .setSubject(options.subject ?? 'user-1')
    .setIssuedAt(now + (options.issuedAt ?? 0))
    .setExpirationTime(now + (options.expiresIn ?? 300));
  const issuer = options.issuer ?? defaultIssuer;
  if (issuer) jwt.setIssuer(issuer);
  if (options.audience) jwt.setAudience(options.audience);
  if (options.notBefore !== undefined) jwt.setNotBefore(now + options.notBefore);
  return jwt;
}
