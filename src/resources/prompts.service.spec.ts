import type { Prompt } from '@modelcontextprotocol/sdk/types.js';
import type { Principal } from 'src/auth/principal';
import type { UpstreamCredential } from 'src/calls/stages/upstream-credential';
import { AppException } from 'src/common/errors/app.exception';
import { ErrorCode } from 'src/common/errors/error-code';
import type { McpEngine } from 'src/mcp/mcp-engine';
import type { ServersService } from 'src/servers/servers.service';
import { PromptsService } from './prompts.service';

const prompts: Record<string, Prompt[]> = {
  a: [
    { name: 'simple', description: 'Simple' },
    { name: 'args', title: 'Args', arguments: [{ name: 'city', required: true }, { name: 'state' }] },
  ],
  b: [{ name: 'simple' }],
};

function setup() {
  const engine = {
    listServerStates: jest.fn(() => Object.keys(prompts).map((id) => ({ id }))),
    listPrompts: jest.fn((id: string) => prompts[id]!),
    getPrompt: jest.fn().mockResolvedValue({ messages: [{ role: 'user', content: { type: 'text', text: 'hi' } }] }),
  };
  const servers = {
    find: jest.fn((id: string) => {
      if (!prompts[id]) throw AppException.notFound(`Server '${id}'`);
      return { id };
    }),
    scope: jest.fn((id?: string) => {
      if (id && !prompts[id]) throw AppException.notFound(`Server '${id}'`);
      return id ? [id] : Object.keys(prompts).sort();
    }),
  };
  const credentials = { forServer: jest.fn().mockResolvedValue(undefined) };
  const service = new PromptsService(
    engine as unknown as McpEngine,
    servers as unknown as ServersService,
    credentials as unknown as UpstreamCredential,
  );
  return { engine, credentials, service };
}

describe('PromptsService', () => {
  it("renders with the caller's credential for a server that acts on behalf of each caller", async () => {
    const { engine, credentials, service } = setup();
    const credential = { partition: 'alice', headers: { authorization: 'Bearer x' } };
    credentials.forServer.mockResolvedValueOnce(credential);
    const principal = { id: 'alice' } as Principal;
    await service.get({ name: 'args', serverId: 'a', arguments: { city: 'Paris' }, principal });
    expect(credentials.forServer).toHaveBeenCalledWith('a', principal, 'args');
    expect(engine.getPrompt).toHaveBeenCalledWith(
      'a',
      'args',
      { city: 'Paris' },
      expect.objectContaining({ credential }),
    );
  });

  it('lists prompts with their arguments, optionally of one server', () => {
    const { service } = setup();
    expect(service.list().total_count).toBe(3);
    expect(service.list('a').prompts[0]).toEqual({
      name: 'args',
      title: 'Args',
      description: null,
      arguments: [{ name: 'city', required: true }, { name: 'state' }],
      server_id: 'a',
    });
  });

  it('returns 409 when the prompt name exists on two servers and no server_id is given', async () => {
    const { service } = setup();
    await expect(service.get({ name: 'simple' })).rejects.toMatchObject({
      code: ErrorCode.CONFLICT,
      details: { servers: ['a', 'b'] },
    });
    await expect(service.get({ name: 'simple', serverId: 'b' })).resolves.toMatchObject({ server_id: 'b' });
  });

  it('returns 404 for a prompt no server offers', async () => {
    const { service } = setup();
    await expect(service.get({ name: 'nope' })).rejects.toMatchObject({ code: ErrorCode.RESOURCE_NOT_FOUND });
  });

  it('refuses missing required arguments before calling the upstream', async () => {
    const { service, engine } = setup();
    await expect(service.get({ name: 'args', arguments: { state: 'X' } })).rejects.toMatchObject({
      code: ErrorCode.INVALID_PARAMETERS,
      details: { fields: [{ field: 'arguments.city', problems: ['is required'] }] },
    });
    expect(engine.getPrompt).not.toHaveBeenCalled();
    const result = await service.get({ name: 'args', arguments: { city: 'Lisbon' } });
    expect(engine.getPrompt).toHaveBeenCalledWith('a', 'args', { city: 'Lisbon' }, { signal: undefined });
    expect(result).toEqual({
      server_id: 'a',
      description: null,
      messages: [{ role: 'user', content: { type: 'text', text: 'hi' } }],
    });
  });
});
