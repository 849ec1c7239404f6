import { missingScopes, scopesFromClaims } from './scopes';

describe('scopes', () => {
  it('reads a space-separated scope claim and an scp array or string', () => {
    expect([...scopesFromClaims({ scope: 'mcp:read  mcp:write' })]).toEqual(['mcp:read', 'mcp:write']);
    expect([...scopesFromClaims({ scp: ['mcp:read', 7, ''] })]).toEqual(['mcp:read']);
    expect([...scopesFromClaims({ scp: 'mcp:admin' })]).toEqual(['mcp:admin']);
    expect([...scopesFromClaims({ scope: 'mcp:read', scp: ['mcp:write'] })]).toEqual(['mcp:read', 'mcp:write']);
    expect(scopesFromClaims({}).size).toBe(0);
  });

  it('names the missing scopes; mcp:admin implies every scope, mcp:write does not imply mcp:read', () => {
    expect(missingScopes(new Set(['mcp:read']), ['mcp:write'])).toEqual(['mcp:write']);
    expect(missingScopes(new Set(['mcp:admin']), ['mcp:read', 'mcp:write'])).toEqual([]);
    expect(missingScopes(new Set(['mcp:write']), ['mcp:read'])).toEqual(['mcp:read']);
    expect(missingScopes(new Set(), [])).toEqual([]);
  });
});
