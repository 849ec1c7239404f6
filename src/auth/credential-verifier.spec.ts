import { SignJWT, type JWTPayload } from 'jose';
import type { LoadedConfig } from 'src/config/config.loader';
import type { AppConfig } from 'src/config/config.schema';
import { CredentialVerifier } from './credential-verifier';
import { Hs256JwtStrategy } from './strategies/hs256-jwt.strategy';

const SECRET = 'a-unit-test-secret-of-more-than-32-bytes!';

function sign(claims: JWTPayload, expiresAt: number, secret = SECRET): Promise<string> {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject('alice')
    .setIssuedAt(Math.floor(Date.now() / 1000))
    .setExpirationTime(expiresAt)
    .sign(new TextEncoder().encode(secret));
}

describe('CredentialVerifier with bearer tokens (a real HS256 strategy, no mocks of the verification)', () => {
  let strategy: Hs256JwtStrategy;
  let verifier: CredentialVerifier;
  const bearer = (token: string) => verifier.verifyHeaders({ authorization: `Bearer ${token}` });

  beforeEach(() => {
    const config = { mcp: { security: { jwt: { secret: SECRET, issuer: '', audience: '', clockSkew: 0 } } } };
    strategy = new Hs256JwtStrategy(config as unknown as AppConfig, { profiles: [] } as unknown as LoadedConfig);
    verifier = new CredentialVerifier();
  });

  afterEach(() => jest.restoreAllMocks());

  it("verifies a token once and reuses its principal, until the token's exp", async () => {
    const validate = jest.spyOn(strategy, 'validate');
    const exp = Math.floor(Date.now() / 1000) + 60;
    const token = await sign({ scope: 'mcp:read' }, exp);
    const first = await bearer(token);
    expect(first).toMatchObject({ kind: 'jwt', subject: 'alice' });
    expect(await bearer(token)).toBe(first);
    expect(validate).toHaveBeenCalledTimes(1);

    // At exp the cached verdict is gone: the token is verified again, and refused as expired.
    jest.spyOn(Date, 'now').mockReturnValue(exp * 1000);
    await expect(bearer(token)).rejects.toMatchObject({ details: { reason: 'jwt expired' } });
    expect(validate).toHaveBeenCalledTimes(1);
  });

  it('does not cache a token that fails verification: it is checked, and refused, every time', async () => {
    const authenticate = jest.spyOn(strategy, 'authenticate');
    const forged = await sign({ scope: 'mcp:admin' }, Math.floor(Date.now() / 1000) + 60, `${SECRET}-other`);
    for (let i = 0; i < 2; i++) {
      await expect(bearer(forged)).rejects.toMatchObject({ details: { reason: 'invalid signature' } });
    }
    expect(authenticate).toHaveBeenCalledTimes(2);
  });

  it('does not cache a token whose signature is good but whose claims are refused (no subject)', async () => {
    const validate = jest.spyOn(strategy, 'validate');
    const token = await new SignJWT({ scope: 'mcp:read' })
      .setProtectedHeader({ alg: 'HS256' })
      .setExpirationTime('1m')
      .sign(new TextEncoder().encode(SECRET));
    for (let i = 0; i < 2; i++) {
      await expect(bearer(token)).rejects.toMatchObject({ details: { reason: 'token has no subject' } });
    }
    expect(validate).toHaveBeenCalledTimes(2);
  });

  it('refuses a header holding more than one token instead of verifying only the first', async () => {
    const token = await sign({ scope: 'mcp:read' }, Math.floor(Date.now() / 1000) + 60);
    await expect(bearer(`${token} trailing`)).rejects.toMatchObject({ details: { reason: 'malformed token' } });
    expect((await bearer(` ${token} `)).subject).toBe('alice');
  });
});
