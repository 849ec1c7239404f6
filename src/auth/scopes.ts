/** The scopes of the public contract (API.md, "Authentication and authorization"). */
export const SCOPES = ['mcp:read', 'mcp:write', 'mcp:admin'] as const;
export type Scope = (typeof SCOPES)[number];

export const ADMIN_SCOPE: Scope = 'mcp:admin';

export const isScope = (value: string): value is Scope => (SCOPES as readonly string[]).includes(value);

/** Scopes of a token: `scope` (space-separated, RFC 8693/9068) and/or `scp` (array or string, Azure AD/Okta). */
export function scopesFromClaims(claims: Record<string, unknown>): Set<string> {
  const scopes = new Set<string>();
  const add = (value: unknown) => {
    const list: unknown[] = typeof value === 'string' ? value.split(/\s+/) : Array.isArray(value) ? value : [];
    for (const scope of list) if (typeof scope === 'string' && scope) scopes.add(scope);
  };
  add(claims.scope);
  add(claims.scp);
  return scopes;
}

/** The required scopes the holder lacks; `mcp:admin` implies every other scope. */
export function missingScopes(held: ReadonlySet<string>, required: readonly Scope[]): Scope[] {
  if (held.has(ADMIN_SCOPE)) return [];
  return required.filter((scope) => !held.has(scope));
}
