import type { Tool } from '@modelcontextprotocol/sdk/types.js';
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
          parameters: [
            { name: 'id', in: 'path', required: true, schema: { type: 'string' } },
            { name: 'tool', in: 'path', required: true, schema: { type: 'string' } },
            { name: 'timeout', in: 'query', required: false, schema: { type: 'number' } },
            { name: 'Idempotency-Key', in: 'header', required: false, schema: { type: 'string' } },
          ],
          requestBody: {
            content: { 'application/json': { schema: { type: 'object', additionalProperties: true } } },
          },
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
    components: { schemas: {} },
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
  it("makes the input schema the body and keeps the route's options, security and answers", () => {
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
    expect(op.requestBody.required).toBe(true);
    const body = op.requestBody.content['application/json'];
    expect(body.schema).toEqual({ $ref: '#/components/schemas/call_everything__echo.input' });
    expect(body.example).toEqual({ message: 'string' });
    expect(op.parameters.map((p: { name: string; in: string }) => `${p.in}:${p.name}`)).toEqual([
      'query:timeout',
      'header:Idempotency-Key',
    ]);
    expect(op['x-mcp-annotations']).toEqual({ readOnlyHint: true });
    expect(out.schemas['call_everything__echo.input']).toMatchObject({ required: ['message'] });
    expect(out.tags).toEqual([expect.objectContaining({ name: 'Tools: everything' })]);
  });

  it('leaves the body optional for a tool without required arguments, with {} as its example', () => {
    const out = buildToolOperations(
      [{ serverId: 's', serverName: 's', tool: { name: 'ping', inputSchema: { type: 'object', properties: {} } } }],
      baseDocument(),
    );
    const op = out.paths[toolPath('s', 'ping')]!.post! as unknown as Record<string, any>;
    expect(op.requestBody.required).toBe(false);
    expect(op.requestBody.content['application/json'].example).toEqual({});
  });

  it('requires the body when the arguments are required through a root $ref or allOf, not when a variant has none', () => {
    const args = { type: 'object', properties: { id: { type: 'string' } }, required: ['id'] };
    const schemas: Record<string, Record<string, unknown>> = {
      ref: { type: 'object', $ref: '#/$defs/Args', $defs: { Args: args } },
      allOf: { type: 'object', allOf: [{ properties: {} }, args] },
      oneOf: { type: 'object', oneOf: [args, { ...args, required: ['name'] }] },
      optionalVariant: { type: 'object', anyOf: [args, { type: 'object' }] },
      refToNothing: { type: 'object', $ref: '#/$defs/Missing' },
    };
    const out = buildToolOperations(
      Object.entries(schemas).map(([name, inputSchema]) => ({
        serverId: 's',
        serverName: 's',
        tool: { name, inputSchema: inputSchema as Tool['inputSchema'] },
      })),
      baseDocument(),
    );
    const required = Object.fromEntries(
      Object.keys(schemas).map((name) => [
        name,
        (out.paths[toolPath('s', name)]!.post! as unknown as Record<string, any>).requestBody.required,
      ]),
    );
    expect(required).toEqual({ ref: true, allOf: true, oneOf: true, optionalVariant: false, refToNothing: false });
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

  it('offers no operation for a tool the REST routes cannot call (name over 128 characters or with a space)', () => {
    const long = 'x'.repeat(129);
    const tool = (name: string): Tool => ({ name, inputSchema: { type: 'object', properties: {} } });
    const ops = buildToolOperations(
      [
        { serverId: 'alpha', serverName: 'Alpha', tool: tool('echo') },
        { serverId: 'alpha', serverName: 'Alpha', tool: tool(long) },
        { serverId: 'alpha', serverName: 'Alpha', tool: tool('two words') },
        { serverId: 'alpha', serverName: 'Alpha', tool: tool('ns/tool.v2') },
      ],
      baseDocument(),
    );
    expect(Object.keys(ops.paths).sort()).toEqual([toolPath('alpha', 'echo'), toolPath('alpha', 'ns/tool.v2')].sort());
  });

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
