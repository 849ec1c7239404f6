import { AppException } from 'src/common/errors/app.exception';
import { principalFromClaims } from './jwt-claims';

describe('principalFromClaims', () => {
  const now = Math.floor(Date.now() / 1000);

  it('builds the principal from sub, iss, scopes and the mcp_servers allow-list', () => {
    const principal = principalFromClaims(
      'oauth2',
      { sub: 'alice', iss: 'https://idp', scope: 'mcp:read', mcp_servers: ['a', 'b'], iat: now },
      30_000,
    );
    expect(principal).toMatchObject({ kind: 'oauth2', id: 'oauth2:https://idp:alice', subject: 'alice', tier: null });
    expect([...principal.scopes]).toEqual(['mcp:read']);
    expect([...principal.servers!]).toEqual(['a', 'b']);
  });

  it('takes the rate-limit tier from mcp_tier (a string), else none', () => {
    expect(principalFromClaims('jwt', { sub: 'x', mcp_tier: 'pro' }, 0).tier).toBe('pro');
    expect(principalFromClaims('jwt', { sub: 'x', mcp_tier: 7 }, 0).tier).toBeNull();
    expect(principalFromClaims('jwt', { sub: 'x', mcp_tier: '' }, 0).tier).toBeNull();
  });

  it('falls back to azp/client_id for client-credentials tokens, and needs one of them', () => {
    expect(principalFromClaims('jwt', { azp: 'svc' }, 0).subject).toBe('svc');
    expect(() => principalFromClaims('jwt', {}, 0)).toThrow(AppException);
  });

  it('gives every server without mcp_servers and none for an unreadable one', () => {
    expect(principalFromClaims('jwt', { sub: 'x' }, 0).servers).toBeNull();
    expect(principalFromClaims('jwt', { sub: 'x', mcp_servers: 42 }, 0).servers!.size).toBe(0);
  });

  it('refuses tokens issued in the future beyond the clock skew', () => {
    expect(() => principalFromClaims('jwt', { sub: 'x', iat: now + 120 }, 30_000)).toThrow(/Invalid bearer token/);
    expect(principalFromClaims('jwt', { sub: 'x', iat: now + 10 }, 30_000).subject).toBe('x');
  });
});
