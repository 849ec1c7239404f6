import type { Principal } from 'src/auth/principal';
import type { McpEngine, ToolRef } from 'src/mcp/mcp-engine';
import type { PolicyService } from 'src/policy/policy.service';
import type { ServersService } from 'src/servers/servers.service';
import { ToolResolver } from './tool-resolver';

const ref = (serverId: string, name: string): ToolRef => ({
  serverId,
  tool: { name, inputSchema: { type: 'object' } },
});

const caller = (servers: string[] | null): Principal => ({
  kind: 'api-key',
  id: 'k',
  subject: 'k',
  scopes: new Set(['mcp:write']),
  servers: servers ? new Set(servers) : null,
  tier: null,
});

/** `denied`: "server/tool" pairs the tool rules deny (none: the policy allows everything). */
function resolverOver(refs: ToolRef[], denied: string[] = []) {
  const engine = {
    listTools: jest.fn(() => refs),
    findTool: jest.fn((name: string, serverId?: string) => {
      const hits = refs.filter((r) => r.tool.name === name && (serverId === undefined || r.serverId === serverId));
      if (hits.length !== 1) throw new Error(`findTool ${name}@${serverId ?? '*'}: ${hits.length} hits`);
      return hits[0]!;
    }),
  };
  const servers = { find: jest.fn() };
  const policy = {
    allowsEverything: denied.length === 0,
    permits: (_principal: unknown, serverId: string, tool: { name: string }) =>
      !denied.includes(`${serverId}/${tool.name}`),
  };
  return {
    resolver: new ToolResolver(
      engine as unknown as McpEngine,
      servers as unknown as ServersService,
      policy as unknown as PolicyService,
    ),
    engine,
    servers,
  };
}

describe('ToolResolver', () => {
  const refs = [ref('a', 'echo'), ref('b', 'echo'), ref('b', 'only-b')];

  it('checks a named server first (404 for an unknown one), then finds the tool on it', () => {
    const { resolver, servers } = resolverOver(refs);
    expect(resolver.resolve('echo', 'b', undefined)).toEqual(ref('b', 'echo'));
    expect(servers.find).toHaveBeenCalledWith('b');
  });

  it('resolves among the allowed servers only: a tool of another server neither resolves nor makes a name ambiguous', () => {
    const { resolver } = resolverOver(refs);
    expect(resolver.resolve('echo', undefined, caller(['a']))).toEqual(ref('a', 'echo'));
    expect(() => resolver.resolve('only-b', undefined, caller(['a']))).toThrow(
      expect.objectContaining({ code: 'RESOURCE_NOT_FOUND' }),
    );
    expect(() => resolver.resolve('echo', undefined, caller(['a', 'b']))).toThrow(
      expect.objectContaining({ code: 'CONFLICT', details: { tool: 'echo', servers: ['a', 'b'] } }),
    );
  });

  it('leaves the search across every server to the engine when neither an allow-list nor a rule narrows it', () => {
    const { resolver, engine } = resolverOver(refs);
    expect(resolver.resolve('only-b', undefined, caller(null))).toEqual(ref('b', 'only-b'));
    expect(engine.findTool).toHaveBeenCalledWith('only-b');
  });

  it('resolves among the tools the caller may see: a tool the rules deny it does not make a name ambiguous', () => {
    const { resolver } = resolverOver(refs, ['b/echo']);
    expect(resolver.resolve('echo', undefined, caller(null))).toEqual(ref('a', 'echo'));
    expect(resolver.resolve('echo', undefined, caller(['a', 'b']))).toEqual(ref('a', 'echo'));
  });

  it('falls back to every allowed tool of that name when the caller may see none, so the policy stage names the rule', () => {
    const single = resolverOver(refs, ['b/only-b']);
    expect(single.resolver.resolve('only-b', undefined, caller(null))).toEqual(ref('b', 'only-b'));
    const both = resolverOver(refs, ['a/echo', 'b/echo']);
    expect(() => both.resolver.resolve('echo', undefined, caller(null))).toThrow(
      expect.objectContaining({ code: 'CONFLICT' }),
    );
  });
});
