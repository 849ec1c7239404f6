import { randomBytes } from 'node:crypto';
import { type AppException } from 'src/common/errors/app.exception';
import { SecretsCipher } from 'src/servers/registry/secrets-cipher';
import { ConnectionLinks, LINK_TTL_MS } from './connection-links';

describe('ConnectionLinks', () => {
  let now = 1_000_000;
  const cipher = SecretsCipher.fromKey(randomBytes(32));
  const links = new ConnectionLinks(cipher, () => now);
  const refusal = (token: string | undefined, at = now) => {
    const saved = now;
    now = at;
    try {
      links.open(token);
    } catch (error) {
      return error as AppException;
    } finally {
      now = saved;
    }
    throw new Error('opened');
  };

  it('opens what it made: principal, server, expiry and a nonce of its own, none of it readable in the token', () => {
    const { token, link } = links.make('key:alice', 'github');
    expect(links.open(token)).toEqual(link);
    expect(link).toMatchObject({ principalId: 'key:alice', serverId: 'github', expiresAt: now + LINK_TTL_MS });
    expect(links.make('key:alice', 'github').link.nonce).not.toBe(link.nonce);
    expect(Buffer.from(token, 'base64url').toString('latin1')).not.toContain('alice');
    const named = links.make('key:alice', 'github', 'alice-laptop');
    expect(links.open(named.token)).toMatchObject({ principalId: 'key:alice', principalName: 'alice-laptop' });
  });

  it('refuses an altered token, one sealed by another key, none at all, and an expired one (400)', () => {
    const { token } = links.make('key:alice', 'github');
    const altered = Buffer.from(token, 'base64url');
    altered[altered.length - 1]! ^= 1;
    expect(refusal(altered.toString('base64url')).details).toEqual({ reason: 'invalid-link' });
    const foreign = new ConnectionLinks(SecretsCipher.fromKey(randomBytes(32)), () => now).make('key:eve', 'github');
    expect(refusal(foreign.token).details).toEqual({ reason: 'invalid-link' });
    expect(refusal(undefined).status).toBe(400);
    expect(refusal(token, now + LINK_TTL_MS).details).toEqual({ reason: 'expired-link' });
  });
});
