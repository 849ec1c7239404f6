import type { Principal } from 'src/auth/principal';
import type { PolicyService } from 'src/policy/policy.service';
import { CallPolicy } from './call-policy';

const principal = (scopes: string[], servers: string[] | null): Principal => ({
  kind: 'api-key',
  id: 'k',
  subject: 'k',
  scopes: new Set(scopes),
  servers: servers ? new Set(servers) : null,
  tier: null,
});
const target = { serverId: 'github', tool: { name: 'create_issue', inputSchema: { type: 'object' as const } } };

describe('CallPolicy', () => {
  // Tool-level rules are src/policy's own tests; here they allow everything.
  const policy = new CallPolicy({ assertCallAllowed: () => undefined } as unknown as PolicyService);

  it('lets a caller with mcp:write call a tool of a server on its allow-list (or with no allow-list)', () => {
    expect(() => policy.check(principal(['mcp:write'], ['github']), target)).not.toThrow();
    expect(() => policy.check(principal(['mcp:write'], null), target)).not.toThrow();
  });

  it('refuses a read-only caller with 403 naming the missing scope', () => {
    expect(() => policy.check(principal(['mcp:read'], null), target)).toThrow(
      expect.objectContaining({ code: 'AUTHORIZATION_DENIED' }),
    );
  });

  it('refuses a server outside the allow-list with 403 naming the server', () => {
    expect(() => policy.check(principal(['mcp:write'], ['slack']), target)).toThrow(
      expect.objectContaining({ code: 'AUTHORIZATION_DENIED', details: { server_id: 'github' } }),
    );
    expect(() => policy.checkServer(principal(['mcp:read'], ['slack']), 'github')).toThrow(
      expect.objectContaining({ code: 'AUTHORIZATION_DENIED' }),
    );
  });

  it('applies nothing to a call from a public route (security off: no principal)', () => {
    expect(() => policy.check(undefined, target)).not.toThrow();
  });
});
