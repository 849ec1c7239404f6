import type { McpEngine, ToolRef } from 'src/mcp/mcp-engine';
import type { ServersService } from 'src/servers/servers.service';
import { ToolResolver } from './tool-resolver';

const ref = (serverId: string, name: string): ToolRef => ({
  serverId,
  tool: { name, inputSchema: { type: 'object' } },
});

function resolverOver(refs: ToolRef[]) {
  const engine = {
    listTools: jest.fn(() => refs),
    findTool: jest.fn((name: string, serverId?: string) => {
      const hits = refs.filter((r) => r.tool.name === name && (serverId === undefined || r.serverId === serverId));
      if (hits.length !== 1) throw new Error(`findTool ${name}@${serverId ?? '*'}: ${hits.length} hits`);
      return hits[0]!;
    }),
  };
  const servers = { find: jest.fn() };
  return {
    resolver: new ToolResolver(engine as unknown as McpEngine, servers as unknown as ServersService),
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
    expect(resolver.resolve('echo', undefined, new Set(['a']))).toEqual(ref('a', 'echo'));
    expect(() => resolver.resolve('only-b', undefined, new Set(['a']))).toThrow(
      expect.objectContaining({ code: 'RESOURCE_NOT_FOUND' }),
    );
    expect(() => resolver.resolve('echo', undefined, new Set(['a', 'b']))).toThrow(
      expect.objectContaining({ code: 'CONFLICT', details: { tool: 'echo', servers: ['a', 'b'] } }),
    );
  });

  it('leaves the search across every server to the engine when the caller may use all of them', () => {
    const { resolver, engine } = resolverOver(refs);
    expect(resolver.resolve('only-b', undefined, undefined)).toEqual(ref('b', 'only-b'));
    expect(engine.findTool).toHaveBeenCalledWith('only-b', undefined);
  });
});
