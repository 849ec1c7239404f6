import type { OpenAPIObject } from '@nestjs/swagger';
import { EventEmitter } from 'node:events';
import type { AppConfig } from 'src/config/config.schema';
import type { McpEngine, ToolRef } from 'src/mcp/mcp-engine';
import type { ServersService } from 'src/servers/servers.service';
import { AUTHORIZE_HINT, OpenApiDocumentService } from './openapi-document.service';
import { SERVER_TOOL_PATH } from './tool-operations';
import type { PolicyService } from 'src/policy/policy.service';

const base = (): OpenAPIObject => ({
  openapi: '3.1.0',
  info: { title: 't', version: '1' },
  paths: {
    [SERVER_TOOL_PATH]: {
      post: { operationId: 'executeServerTool', security: [{ oauth2: ['mcp:write'] }], responses: {} },
    },
  },
  components: { schemas: {} },
});

function service(anonymousTools: boolean) {
  const tools: ToolRef[] = [{ serverId: 's', tool: { name: 'a', inputSchema: { type: 'object' } } }];
  const engine = Object.assign(new EventEmitter(), { listTools: () => tools });
  const servers = { find: (id: string) => ({ id, entry: { name: `Server ${id}` } }) };
  const config = { mcp: { openapi: { anonymousTools } } } as AppConfig;
  const documents = new OpenApiDocumentService(
    engine as unknown as McpEngine,
    servers as unknown as ServersService,
    config,
    { permits: () => true } as unknown as PolicyService,
  );
  documents.onModuleInit();
  documents.setBase(base());
  return { documents, engine, tools };
}

const toolPaths = (doc: OpenAPIObject) => Object.keys(doc.paths).filter((p) => !p.includes('{'));
const admin = { kind: 'api-key', id: 'a', subject: 'a', scopes: new Set(['mcp:admin']), servers: null, tier: null };

describe('OpenApiDocumentService', () => {
  it('rebuilds after a tools change of the catalog, and only then', () => {
    const { documents, engine, tools } = service(false);
    const first = documents.documentFor(admin as never);
    expect(toolPaths(first)).toEqual(['/api/servers/s/tools/a']);
    tools.push({ serverId: 's', tool: { name: 'b', inputSchema: { type: 'object' } } });
    engine.emit('catalog.changed', { serverId: 's', kinds: ['resources'] });
    expect(toolPaths(documents.documentFor(admin as never))).toEqual(['/api/servers/s/tools/a']);
    engine.emit('catalog.changed', { serverId: 's', kinds: ['tools'] });
    expect(toolPaths(documents.documentFor(admin as never))).toEqual([
      '/api/servers/s/tools/a',
      '/api/servers/s/tools/b',
    ]);
    tools.splice(0);
    engine.emit('server.removed', { serverId: 's' });
    expect(toolPaths(documents.documentFor(admin as never))).toEqual([]);
    documents.onModuleDestroy();
    expect(engine.listenerCount('catalog.changed')).toBe(0);
  });

  it('leaves the tools out of the anonymous document unless mcp.openapi.anonymous-tools', () => {
    expect(toolPaths(service(false).documents.documentFor())).toEqual([]);
    expect(toolPaths(service(true).documents.documentFor())).toEqual(['/api/servers/s/tools/a']);
    const tags = service(true).documents.documentFor().tags ?? [];
    expect(tags).toEqual([
      expect.objectContaining({ name: 'Tools: s', description: expect.stringContaining('Server s') }),
    ]);
  });

  it('says before "Authorize" where the tools are, and only while they are left out', () => {
    expect(service(false).documents.documentFor().info.description).toContain(AUTHORIZE_HINT);
    expect(service(false).documents.documentFor(admin as never).info.description ?? '').not.toContain(AUTHORIZE_HINT);
    expect(service(true).documents.documentFor().info.description ?? '').not.toContain(AUTHORIZE_HINT);
  });

  it('keeps an operation from a caller without the scopes its requirements list, whatever the scheme', () => {
    const { documents } = service(false);
    const reader = { ...admin, scopes: new Set(['mcp:read']) };
    expect(toolPaths(documents.documentFor(reader as never))).toEqual([]);
    const writer = { ...admin, scopes: new Set(['mcp:write']) };
    expect(toolPaths(documents.documentFor(writer as never))).toEqual(['/api/servers/s/tools/a']);
  });
});
