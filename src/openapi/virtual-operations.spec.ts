import type { OpenAPIObject } from '@nestjs/swagger';
import type { Principal } from 'src/auth/principal';
import type { ExposedTool, VirtualServer } from 'src/virtual-servers/virtual-composition';
import { VIRTUAL_TOOL_PATH } from 'src/virtual-servers/virtual-servers.controller';
import { filterFor } from './openapi-document.service';
import { X_SERVER, X_TOOL } from './tool-operations';
import { buildVirtualOperations, virtualOperationId, virtualTag, X_VIRTUAL_SERVER } from './virtual-operations';

const base = (): OpenAPIObject => ({
  openapi: '3.1.0',
  info: { title: 't', version: '1' },
  paths: {
    [VIRTUAL_TOOL_PATH]: {
      post: { operationId: 'executeVirtualTool', security: [{ oauth2: ['mcp:write'] }], responses: {} },
    },
  },
  components: { schemas: {} },
});

const def: VirtualServer = { id: 'v', name: 'V', source: 'api', tools: [], prompts: [], resources: [] };
const exposed: ExposedTool = {
  serverId: 'everything',
  toolName: 'get-sum',
  fixed: { b: 40 },
  tool: {
    name: 'add_forty',
    description: 'Adds 40',
    inputSchema: { type: 'object', properties: { a: { type: 'number' } }, required: ['a'] },
  },
};

const caller = (servers: string[] | null): Principal =>
  ({
    kind: 'api-key',
    id: 'k',
    subject: 'k',
    scopes: new Set(['mcp:write']),
    servers: servers && new Set(servers),
    tier: null,
  }) as unknown as Principal;

describe('virtual tool operations', () => {
  it('adds one operation per exposed tool under the tag of its virtual server, naming the real server and tool', () => {
    const out = buildVirtualOperations([{ def, tools: [exposed] }], base());
    const operation = out.paths['/api/virtual-servers/v/tools/add_forty']?.post as unknown as Record<string, unknown>;
    expect(operation).toMatchObject({
      operationId: 'virtual_v__add_forty',
      tags: [virtualTag('v')],
      [X_SERVER]: 'everything',
      [X_TOOL]: 'get-sum',
      [X_VIRTUAL_SERVER]: 'v',
    });
    expect(out.tags).toEqual([{ name: 'Virtual server: v', description: 'Tools of virtual server `v` (V)' }]);
    expect(Object.keys(out.schemas)).toContain('virtual_v__add_forty.input');
  });

  it('gives a virtual server without tools no tag, and makes operation ids identifiers', () => {
    expect(buildVirtualOperations([{ def, tools: [] }], base()).tags).toEqual([]);
    expect(virtualOperationId('my-v', 'a.b')).toMatch(/^virtual_my_v__a_b_[0-9a-f]{8}$/);
  });

  it("cuts the document to a caller's allow-list: the virtual server and the member's real server, tag included", () => {
    const out = buildVirtualOperations([{ def, tools: [exposed] }], base());
    const document = { ...base(), paths: { ...base().paths, ...out.paths }, tags: out.tags };
    const path = '/api/virtual-servers/v/tools/add_forty';
    expect(filterFor(document, caller(null)).paths).toHaveProperty([path]);
    expect(filterFor(document, caller(['v', 'everything'])).paths).toHaveProperty([path]);
    for (const servers of [['everything'], ['v']]) {
      const cut = filterFor(document, caller(servers));
      expect(cut.paths).not.toHaveProperty([path]);
      expect(cut.tags).toEqual([]);
    }
  });
});
