import type { OpenAPIObject } from '@nestjs/swagger';
import type { Principal } from 'src/auth/principal';
import { filterFor } from './openapi-document.service';
import { buildToolOperations, SERVER_TOOL_PATH, toolOperationId, toolPath } from './tool-operations';

const SECURITY: Record<string, string[]>[] = [{ bearer: [] }, { oauth2: ['mcp:write'] }, { api_key: [] }];

function baseDocument(): OpenAPIObject {
  return {
    openapi: '3.1.0',
    info: { title: 't', version: '1' },
    paths: {
      [SERVER_TOOL_PATH]: {
        post: {
          operationId: 'executeServerTool',
          security: SECURITY,
          requestBody: { content: { 'application/json': { schema: { $ref: '#/components/schemas/Body' } } } },
          responses: {
            '200': {
              description: 'ok',
              content: { 'application/json': { schema: { $ref: '#/components/schemas/R' } } },
            },
          },
        },
      },
      '/api/tools': { get: { operationId: 'listTools', security: [{ oauth2: ['mcp:read'] }], responses: {} } },
      '/api/health': { get: { operationId: 'health', security: [], responses: {} } },
    },
    components: {
      schemas: {
        Body: { type: 'object', properties: { parameters: { type: 'object' }, timeout: { type: 'integer' } } },
      },
    },
  };
}

const principal = (scopes: string[], servers: string[] | null): Principal => ({
  kind: 'api-key',
  id: 'p',
  subject: 'p',
  scopes: new Set(scopes),
  servers: servers ? new Set(servers) : null,
  tier: null,
});

describe('toolOperationId', () => {
  it('is a plain identifier when the names allow it, stable and distinct otherwise', () => {
    expect(toolOperationId('everything', 'echo')).toBe('call_everything__echo');
    expect(toolOperationId('my-server.v2', 'get_sum')).toBe('call_my_server_v2__get_sum');
    const a = toolOperationId('s', 'get-sum');
    const b = toolOperationId('s', 'get.sum');
    expect(a).toMatch(/^call_s__get_sum_[0-9a-f]{8}$/);
    expect(b).toMatch(/^call_s__get_sum_[0-9a-f]{8}$/);
    expect(a).not.toBe(b);
    expect(toolOperationId('s', 'get-sum')).toBe(a);
  });
});

describe('buildToolOperations', () => {
  it('types parameters with the input schema and keeps the other wrapper fields, security and answers', () => {
    const out = buildToolOperations(
      [
        {
          serverId: 'everything',
          serverName: 'Everything',
          tool: {
            name: 'echo',
            inputSchema: { type: 'object', properties: { message: { type: 'string' } }, required: ['message'] },
            annotations: { readOnlyHint: true },
          },
        },
      ],
      baseDocument(),
    );
    const op = out.paths[toolPath('everything', 'echo')]!.post! as unknown as Record<string, any>;
    expect(op.security).toEqual(SECURITY);
    const body = op.requestBody.content['application/json'];
    expect(body.schema.properties.parameters.$ref).toBe('#/components/schemas/call_everything__echo.input');
    expect(body.schema.properties.timeout).toEqual({ type: 'integer' });
    expect(body.example).toEqual({ parameters: { message: 'string' } });
    expect(op['x-mcp-annotations']).toEqual({ readOnlyHint: true });
    expect(out.schemas['call_everything__echo.input']).toMatchObject({ required: ['message'] });
    expect(out.tags).toEqual([expect.objectContaining({ name: 'Tools: everything' })]);
  });
});

describe('filterFor', () => {
  const document = (): OpenAPIObject => {
    const base = baseDocument();
    const tools = buildToolOperations(
      [
        { serverId: 'a', serverName: 'a', tool: { name: 't', inputSchema: { type: 'object' } } },
        { serverId: 'b', serverName: 'b', tool: { name: 't', inputSchema: { type: 'object' } } },
      ],
      base,
    );
    return {
      ...base,
      paths: { ...base.paths, ...tools.paths },
      tags: tools.tags,
      components: { schemas: { ...base.components!.schemas, ...tools.schemas } },
    };
  };

  it("keeps the tools of the caller's servers only, with their schemas and tags", () => {
    const doc = filterFor(document(), principal(['mcp:read', 'mcp:write'], ['a']));
    expect(Object.keys(doc.paths).sort()).toEqual(
      ['/api/health', '/api/servers/a/tools/t', SERVER_TOOL_PATH, '/api/tools'].sort(),
    );
    expect(Object.keys(doc.components!.schemas!).filter((n) => n.startsWith('call_'))).toEqual(['call_a__t.input']);
    expect(doc.tags!.map((t) => t.name)).toEqual(['Tools: a']);
  });

  it('drops operations whose scopes the caller lacks, never the public ones', () => {
    const doc = filterFor(document(), principal(['mcp:read'], null));
    expect(Object.keys(doc.paths).sort()).toEqual(['/api/health', '/api/tools']);
  });
});
