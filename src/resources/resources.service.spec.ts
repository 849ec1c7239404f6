import type { Resource, ResourceTemplate } from '@modelcontextprotocol/sdk/types.js';
import type { Principal } from 'src/auth/principal';
import type { UpstreamCredential } from 'src/calls/stages/upstream-credential';
import { AppException } from 'src/common/errors/app.exception';
import { ErrorCode } from 'src/common/errors/error-code';
import { EngineError } from 'src/mcp/engine-error';
import type { McpEngine } from 'src/mcp/mcp-engine';
import type { ServersService } from 'src/servers/servers.service';
import { ResourcesService } from './resources.service';

const catalog: Record<string, { resources: Resource[]; templates: ResourceTemplate[] }> = {
  a: {
    resources: [
      { uri: 'demo://doc/readme.md', name: 'readme.md', mimeType: 'text/markdown', description: 'Readme' },
      { uri: 'demo://img/logo.png', name: 'logo', mimeType: 'image/png', size: 120 },
      { uri: 'demo://shared', name: 'shared' },
    ],
    templates: [{ uriTemplate: 'demo://dynamic/{id}', name: 'dynamic' }],
  },
  b: { resources: [{ uri: 'demo://shared', name: 'shared too' }], templates: [] },
};

function setup() {
  const engine = {
    listServerStates: jest.fn(() => Object.keys(catalog).map((id) => ({ id }))),
    listResources: jest.fn((id: string) => catalog[id]!.resources),
    listResourceTemplates: jest.fn((id: string) => catalog[id]!.templates),
    readResource: jest.fn(),
  };
  const servers = {
    find: jest.fn((id: string) => {
      if (!catalog[id]) throw AppException.notFound(`Server '${id}'`);
      return { id };
    }),
    scope: jest.fn((id?: string) => {
      if (id && !catalog[id]) throw AppException.notFound(`Server '${id}'`);
      return id ? [id] : Object.keys(catalog).sort();
    }),
  };
  const credentials = { forServer: jest.fn().mockResolvedValue(undefined) };
  const service = new ResourcesService(
    engine as unknown as McpEngine,
    servers as unknown as ServersService,
    credentials as unknown as UpstreamCredential,
  );
  return { engine, servers, credentials, service };
}

describe('ResourcesService', () => {
  it("reads with the caller's credential for a server that acts on behalf of each caller", async () => {
    const { engine, credentials, service } = setup();
    const credential = { partition: 'alice', headers: { authorization: 'Bearer x' } };
    credentials.forServer.mockResolvedValueOnce(credential);
    engine.readResource.mockResolvedValueOnce({ contents: [] });
    const principal = { id: 'alice' } as Principal;
    await service.read('a', 'demo://doc/readme.md', { principal });
    expect(credentials.forServer).toHaveBeenCalledWith('a', principal, 'demo://doc/readme.md');
    expect(engine.readResource).toHaveBeenCalledWith(
      'a',
      'demo://doc/readme.md',
      expect.objectContaining({ credential }),
    );
  });

  it('lists every server’s resources in snake_case, sorted by server then uri', () => {
    const { service } = setup();
    const list = service.list({});
    expect(list.total_count).toBe(4);
    expect(list.resources[0]).toEqual({
      uri: 'demo://doc/readme.md',
      name: 'readme.md',
      description: 'Readme',
      mime_type: 'text/markdown',
      server_id: 'a',
    });
    expect(list.resources.find((r) => r.uri === 'demo://img/logo.png')).toMatchObject({ size: 120, description: null });
  });

  it('filters by MIME type prefix and by glob or substring', () => {
    const { service } = setup();
    expect(service.list({ type: 'image' }).resources.map((r) => r.uri)).toEqual(['demo://img/logo.png']);
    expect(service.list({ uri_pattern: 'demo://*.md' }).resources.map((r) => r.uri)).toEqual(['demo://doc/readme.md']);
    expect(service.list({ uri_pattern: 'shared', server_id: 'b' }).resources).toHaveLength(1);
  });

  it('404s an unknown server', () => {
    const { service } = setup();
    expect(() => service.list({ server_id: 'nope' })).toThrow(
      expect.objectContaining({ code: ErrorCode.RESOURCE_NOT_FOUND }),
    );
  });

  it('finds the one server listing a uri, then by template', async () => {
    const { service, engine } = setup();
    engine.readResource.mockResolvedValue({ contents: [{ uri: 'demo://doc/readme.md', text: '# hi' }] });
    const doc = await service.content({ uri: 'demo://doc/readme.md' });
    expect(doc).toEqual({
      uri: 'demo://doc/readme.md',
      server_id: 'a',
      content: '# hi',
      metadata: { content_type: 'text/markdown', size_bytes: 4, encoding: 'text' },
      contents: [{ uri: 'demo://doc/readme.md', text: '# hi' }],
    });
    engine.readResource.mockResolvedValue({
      contents: [{ uri: 'demo://dynamic/7', blob: Buffer.from('x').toString('base64') }],
    });
    expect((await service.content({ uri: 'demo://dynamic/7' })).server_id).toBe('a');
  });

  it('answers 409 listing the servers when several offer the uri, and 400 when none does', async () => {
    const { service } = setup();
    await expect(service.content({ uri: 'demo://shared' })).rejects.toMatchObject({
      code: ErrorCode.CONFLICT,
      details: { servers: ['a', 'b'] },
    });
    await expect(service.content({ uri: 'other://x' })).rejects.toMatchObject({ code: ErrorCode.INVALID_PARAMETERS });
  });

  it('renders blobs as base64, decodes UTF-8 blobs for format=text, refuses binary as text', async () => {
    const { service, engine } = setup();
    const blob = Buffer.from('héllo').toString('base64');
    engine.readResource.mockResolvedValue({ contents: [{ uri: 'demo://dynamic/1', mimeType: 'text/plain', blob }] });
    expect(await service.content({ uri: 'demo://dynamic/1', serverId: 'a' })).toMatchObject({
      content: blob,
      metadata: { content_type: 'text/plain', size_bytes: 6, encoding: 'base64' },
    });
    expect((await service.content({ uri: 'demo://dynamic/1', serverId: 'a', format: 'text' })).content).toBe('héllo');
    engine.readResource.mockResolvedValue({
      contents: [{ uri: 'demo://dynamic/1', blob: Buffer.from([0xff, 0xfe, 0x00]).toString('base64') }],
    });
    await expect(service.content({ uri: 'demo://dynamic/1', serverId: 'a', format: 'text' })).rejects.toMatchObject({
      code: ErrorCode.INVALID_PARAMETERS,
    });
  });

  it('parses JSON for format=json and answers 400 when the text is not JSON', async () => {
    const { service, engine } = setup();
    engine.readResource.mockResolvedValue({ contents: [{ uri: 'demo://doc/readme.md', text: '{"a":[1,2]}' }] });
    expect((await service.content({ uri: 'demo://doc/readme.md', format: 'json' })).content).toEqual({ a: [1, 2] });
    engine.readResource.mockResolvedValue({ contents: [{ uri: 'demo://doc/readme.md', text: '# not json' }] });
    await expect(service.content({ uri: 'demo://doc/readme.md', format: 'json' })).rejects.toMatchObject({
      code: ErrorCode.INVALID_PARAMETERS,
      message: expect.stringContaining('is not JSON'),
    });
  });

  it('returns base64 of text parts for format=binary', async () => {
    const { service, engine } = setup();
    engine.readResource.mockResolvedValue({ contents: [{ uri: 'demo://doc/readme.md', text: 'abc' }] });
    expect((await service.content({ uri: 'demo://doc/readme.md', format: 'binary' })).content).toBe('YWJj');
  });

  it('turns an upstream "resource not found" into a 404 and lets other engine errors through', async () => {
    const { service, engine } = setup();
    engine.readResource.mockRejectedValue(
      EngineError.upstream('a', { rpcCode: -32602, rpcMessage: 'Resource demo://x not found' }),
    );
    await expect(service.read('a', 'demo://x')).rejects.toMatchObject({ code: ErrorCode.RESOURCE_NOT_FOUND });
    engine.readResource.mockRejectedValue(EngineError.upstream('a', { rpcCode: -32002, rpcMessage: 'gone' }));
    await expect(service.read('a', 'demo://x')).rejects.toMatchObject({ code: ErrorCode.RESOURCE_NOT_FOUND });
    const other = EngineError.upstream('a', { rpcCode: -32603, rpcMessage: 'boom' });
    engine.readResource.mockRejectedValue(other);
    await expect(service.read('a', 'demo://x')).rejects.toBe(other);
  });

  it('lists templates across servers', () => {
    const { service } = setup();
    expect(service.listTemplates()).toEqual({
      resource_templates: [
        { uri_template: 'demo://dynamic/{id}', name: 'dynamic', description: null, mime_type: null, server_id: 'a' },
      ],
      total_count: 1,
    });
  });
});
