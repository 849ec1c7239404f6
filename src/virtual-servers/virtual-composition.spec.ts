import type { Prompt, Tool } from '@modelcontextprotocol/sdk/types.js';
import { type AppException } from 'src/common/errors/app.exception';
import { virtualServerBodySchema, virtualServerSchema } from 'src/config/virtual-server.schema';
import {
  type CatalogReader,
  definitionProblems,
  exposedPrompts,
  exposedTools,
  resolveCall,
  type VirtualServer,
} from './virtual-composition';

const tool = (name: string, required: string[] = []): Tool => ({
  name,
  description: `${name} upstream`,
  inputSchema: {
    type: 'object',
    properties: { message: { type: 'string' }, level: { type: 'string' }, a: { type: 'number' } },
    required,
  },
});

/** Two upstreams: `alpha` connected, `beta` down (no catalog). */
function catalog(tools: Record<string, Tool[]>, prompts: Record<string, Prompt[]> = {}): CatalogReader {
  return {
    tools: (id) => tools[id] ?? [],
    prompts: (id) => prompts[id] ?? [],
    resources: () => [],
    templates: () => [],
    known: (id) => id in tools,
  };
}

const def = (parts: Partial<VirtualServer>): VirtualServer => ({
  id: 'v',
  source: 'api',
  tools: [],
  prompts: [],
  resources: [],
  ...parts,
});

describe('virtual server composition', () => {
  const alpha = catalog({ alpha: [tool('echo', ['message', 'level']), tool('get-sum'), tool('get-env')] });

  it('exposes a renamed tool with its own description and without the fixed arguments', () => {
    const v = def({
      tools: [{ server: 'alpha', tool: 'echo', name: 'say', description: 'Says it', fixed_arguments: { level: 'x' } }],
    });
    const [exposed] = exposedTools(v, alpha);
    expect(exposed).toMatchObject({ serverId: 'alpha', toolName: 'echo', fixed: { level: 'x' } });
    expect(exposed!.tool.name).toBe('say');
    expect(exposed!.tool.description).toBe('Says it');
    expect(Object.keys(exposed!.tool.inputSchema.properties ?? {})).toEqual(['message', 'a']);
    expect(exposed!.tool.inputSchema.required).toEqual(['message']);
  });

  it('expands a pattern member under the upstream names, the earlier member keeping a name both expose', () => {
    const v = def({
      tools: [
        { server: 'alpha', tool: 'get-env', name: 'get-sum' },
        { server: 'alpha', tool: 'get-*' },
      ],
    });
    expect(exposedTools(v, alpha).map((t) => `${t.tool.name}->${t.toolName}`)).toEqual([
      'get-sum->get-env',
      'get-env->get-env',
    ]);
  });

  it('merges the fixed arguments into a call and refuses a caller who sends one', () => {
    const v = def({ tools: [{ server: 'alpha', tool: 'echo', name: 'say', fixed_arguments: { level: 'x' } }] });
    expect(resolveCall(v, 'say', { message: 'hi' }, alpha)).toEqual({
      serverId: 'alpha',
      toolName: 'echo',
      arguments: { message: 'hi', level: 'x' },
    });
    expect(() => resolveCall(v, 'say', { message: 'hi', level: 'y' }, alpha)).toThrow(
      /'level' of 'say' is fixed by virtual server 'v'/,
    );
    expect(() => resolveCall(v, 'say', { level: 'y' }, alpha)).toThrow(
      expect.objectContaining({ code: 'INVALID_PARAMETERS' }) as AppException,
    );
  });

  it('answers 404 for a name it does not expose, and 503 naming the server for a member whose server is down', () => {
    const v = def({ tools: [{ server: 'beta', tool: 'ping', name: 'p' }] });
    expect(exposedTools(v, alpha)).toEqual([]);
    expect(() => resolveCall(v, 'p', {}, alpha)).toThrow(
      expect.objectContaining({
        code: 'SERVER_UNAVAILABLE',
        message: "Tool 'p' of virtual server 'v' is unavailable: server 'beta' is not connected",
      }) as AppException,
    );
    expect(() => resolveCall(v, 'echo', {}, alpha)).toThrow(/Tool 'echo' of virtual server 'v'/);
  });

  it('renames prompts', () => {
    const prompts = catalog({ alpha: [] }, { alpha: [{ name: 'simple', description: 'up' }] });
    const v = def({ prompts: [{ server: 'alpha', prompt: 'simple', name: 'hello', description: 'mine' }] });
    expect(exposedPrompts(v, prompts).map((p) => [p.prompt.name, p.prompt.description, p.promptName])).toEqual([
      ['hello', 'mine', 'simple'],
    ]);
  });
});

describe('definition problems', () => {
  const servers = new Set(['alpha', 'beta']);
  const alpha = catalog({ alpha: [tool('echo'), tool('get-sum'), tool('get-env')] });

  it('finds nothing wrong in a sound definition, and takes a down server on trust', () => {
    const v = def({
      tools: [
        { server: 'alpha', tool: 'echo', name: 'say' },
        { server: 'alpha', tool: 'get-*' },
        { server: 'beta', tool: 'anything' },
      ],
    });
    expect(definitionProblems(v, servers, alpha)).toEqual([]);
  });

  it('refuses an id of a real server (conflict)', () => {
    expect(definitionProblems(def({ id: 'alpha' }), servers, alpha)).toEqual([
      expect.objectContaining({ kind: 'conflict', field: 'id' }),
    ]);
  });

  it('refuses an unknown server, an unknown tool and a pattern that matches nothing (invalid)', () => {
    const v = def({
      tools: [
        { server: 'gamma', tool: 'echo' },
        { server: 'alpha', tool: 'nope' },
        { server: 'alpha', tool: 'zz*' },
      ],
    });
    expect(definitionProblems(v, servers, alpha)).toEqual([
      { kind: 'invalid', field: 'tools[0].server', problem: "unknown server 'gamma'" },
      { kind: 'invalid', field: 'tools[1].tool', problem: "server 'alpha' has no tool 'nope'" },
      { kind: 'invalid', field: 'tools[2].tool', problem: "'zz*' matches no tool of server 'alpha'" },
    ]);
  });

  it('refuses two members exposed under one name once patterns are expanded (conflict)', () => {
    const v = def({
      tools: [
        { server: 'alpha', tool: 'echo', name: 'get-sum' },
        { server: 'alpha', tool: 'get-*' },
      ],
    });
    expect(definitionProblems(v, servers, alpha)).toEqual([
      {
        kind: 'conflict',
        field: 'tools[1]',
        problem: "'get-sum' is already exposed by tools[0]: two members under one name",
      },
    ]);
  });
});

describe('virtual server schema', () => {
  it('refuses two exact members under one name, and renames or fixed values on a pattern', () => {
    const result = virtualServerSchema.safeParse({
      tools: [
        { server: 'a', tool: 'echo' },
        { server: 'b', tool: 'x', name: 'echo' },
        { server: 'a', tool: 'get-*', name: 'g', fixed_arguments: { a: 1 } },
      ],
    });
    expect(result.success).toBe(false);
    const messages = result.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    expect(messages).toEqual([
      "tools.1: 'echo' is already exposed by tools[0]: two members under one name",
      'tools.2.name: a pattern member cannot be renamed',
      'tools.2.fixed_arguments: fixed arguments need one named tool, not a pattern',
    ]);
  });

  it('refuses unknown keys and a bad id in the API body', () => {
    const result = virtualServerBodySchema.safeParse({ id: '-bad', tools: [{ server: 'a', tool: 'x', nme: 'y' }] });
    expect(result.success).toBe(false);
    expect(result.error!.issues.map((i) => i.path.join('.'))).toEqual(['id', 'tools.0']);
  });
});
