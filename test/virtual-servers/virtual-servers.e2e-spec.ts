import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { DataSource } from 'typeorm';
import { loadConfig } from 'src/config/config.loader';
import { ADMIN_HEADERS } from '../support/auth';
import { REPO, TOOLBOX } from '../support/paths';
import { createTestDatabase, type TestDatabase } from '../support/test-database';
import { startTestGateway, type TestGateway } from '../support/test-gateway';
import { waitFor } from '../support/wait';
import { EVERYTHING_AND_TOOLBOX_YAML, textOf, waitForTools } from '../mcp-endpoint/upstreams';

/** A virtual server of the configuration file: renamed tools from both upstreams, a fixed argument, a prompt. */
const VIRTUAL_YAML = `  security:
    stdio:
      allowed-commands: [node]
  virtual-servers:
    assistant:
      name: Assistant
      description: Echo, the home directory and naps
      tools:
        - server: everything
          tool: echo
          name: shout
          description: Repeats what you say
        - server: toolbox
          tool: env
          name: home_dir
          description: Reads HOME
          fixed_arguments: { name: HOME }
        - server: toolbox
          tool: sleep
          name: nap
      prompts:
        - server: toolbox
          prompt: greet
          name: hello
      resources:
        - server: everything
`;

/** The one created through the API: a pattern member and a fixed argument of server-everything's get-sum. */
const MIXED = {
  id: 'mixed',
  name: 'Mixed',
  tools: [
    { server: 'toolbox', tool: 'p*' },
    { server: 'everything', tool: 'get-sum', name: 'add_forty', description: 'Adds 40', fixed_arguments: { b: 40 } },
  ],
};

const run = promisify(execFile);
const REVISION = '2026-07-28';
const ENVELOPE = {
  'io.modelcontextprotocol/protocolVersion': REVISION,
  'io.modelcontextprotocol/clientCapabilities': {},
  'io.modelcontextprotocol/clientInfo': { name: 'virtual-e2e', version: '1.0.0' },
};

interface Envelope {
  error: { code: string; message: string; details?: { fields?: { field: string; problems: string[] }[] } };
}

/** Virtual servers (issue #16 item 4): one gateway, server-everything and the toolbox fixture over stdio. */
describe('virtual servers', () => {
  let db: TestDatabase;
  let gateway: TestGateway;
  let base: string;
  let nextId = 1;
  const clients: Client[] = [];

  beforeAll(async () => {
    db = await createTestDatabase('virtual_servers');
    gateway = await startTestGateway({ databaseUrl: db.url, yaml: EVERYTHING_AND_TOOLBOX_YAML + VIRTUAL_YAML });
    base = gateway.addresses.api;
    await waitForTools(base, ['everything', 'toolbox']);
  }, 60_000);

  afterAll(async () => {
    await Promise.allSettled(clients.map((c) => c.close()));
    await gateway?.stop();
    await db?.drop();
  });

  async function connect(view: string, headers: Record<string, string> = ADMIN_HEADERS): Promise<Client> {
    const client = new Client({ name: 'virtual-e2e', version: '1.0.0' });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`${base}/mcp/${view}`), { requestInit: { headers } }),
    );
    clients.push(client);
    return client;
  }

  const api = (method: string, route: string, body?: unknown) =>
    fetch(`${base}${route}`, {
      method,
      headers: { ...ADMIN_HEADERS, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });

  /** One raw 2026-07-28 request (stateless, no session): the JSON-RPC response. */
  async function modern(view: string, method: string, params: Record<string, unknown> = {}, capabilities = {}) {
    const name = typeof params.name === 'string' ? params.name : '';
    const res = await fetch(`${base}/mcp/${view}`, {
      method: 'POST',
      headers: {
        ...ADMIN_HEADERS,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'mcp-protocol-version': REVISION,
        'mcp-method': method,
        ...(name ? { 'mcp-name': name } : {}),
      },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: nextId++,
        method,
        params: { ...params, _meta: { ...ENVELOPE, 'io.modelcontextprotocol/clientCapabilities': capabilities } },
      }),
    });
    const text = await res.text();
    const messages = (res.headers.get('content-type') ?? '').startsWith('text/event-stream')
      ? text
          .split('\n')
          .filter((line) => line.startsWith('data: '))
          .map((line) => JSON.parse(line.slice(6)) as Record<string, unknown>)
      : [JSON.parse(text) as Record<string, unknown>];
    return messages.find((m) => 'result' in m || 'error' in m) as {
      result?: Record<string, unknown>;
      error?: { code: number; message: string };
    };
  }

  const storedIds = async () =>
    ((await gateway.api.get(DataSource).query('SELECT id FROM virtual_servers ORDER BY id')) as { id: string }[]).map(
      (r) => r.id,
    );

  describe('defined in the configuration file', () => {
    it('is seen by the SDK client on /mcp/{virtual_id}: renamed tools, own descriptions, no hidden argument', async () => {
      const client = await connect('assistant');
      expect(client.getServerVersion()?.name).toBe('Assistant');
      expect(client.getInstructions()).toBe('Echo, the home directory and naps');
      const { tools } = await client.listTools();
      expect(tools.map((t) => t.name)).toEqual(['shout', 'home_dir', 'nap']);
      const homeDir = tools.find((t) => t.name === 'home_dir')!;
      expect(homeDir.description).toBe('Reads HOME');
      expect(homeDir.inputSchema.properties ?? {}).not.toHaveProperty('name');
      expect(homeDir.inputSchema.required ?? []).not.toContain('name');
      expect(tools.find((t) => t.name === 'shout')!.description).toBe('Repeats what you say');
    });

    it('calls the right upstream with the fixed values, and records the real server and tool', async () => {
      const client = await connect('assistant');
      expect(textOf(await client.callTool({ name: 'shout', arguments: { message: 'hi' } }))).toBe('Echo: hi');
      // The toolbox process inherits the gateway's HOME: the fixed argument `name: HOME` reached it.
      const env = JSON.parse(textOf(await client.callTool({ name: 'home_dir', arguments: {} }))) as { value: unknown };
      expect(env.value).toBe(process.env.HOME ?? null);

      const res = await api('GET', '/api/executions?tool=env&limit=10');
      const rows = ((await res.json()) as { executions: Record<string, unknown>[] }).executions;
      expect(rows[0]).toMatchObject({
        server_id: 'toolbox',
        tool_name: 'env',
        virtual_server_id: 'assistant',
        channel: 'mcp',
        parameters: { name: 'HOME' },
      });
    });

    it('refuses a caller who sends a hidden argument with -32602 naming it, and an unknown name', async () => {
      const client = await connect('assistant');
      await expect(client.callTool({ name: 'home_dir', arguments: { name: 'PATH' } })).rejects.toThrow(
        /-32602.*'name' of 'home_dir' is fixed by virtual server 'assistant'/,
      );
      await expect(client.callTool({ name: 'echo', arguments: { message: 'x' } })).rejects.toThrow(
        /-32602.*Tool 'echo' of virtual server 'assistant'/,
      );
    });

    it('serves its renamed prompt from the member upstream', async () => {
      const client = await connect('assistant');
      const { prompts } = await client.listPrompts();
      expect(prompts.map((p) => p.name)).toEqual(['hello']);
      const prompt = await client.getPrompt({ name: 'hello', arguments: { who: 'Ada' } });
      expect(prompt.messages[0]!.content).toEqual({ type: 'text', text: 'Hello Ada' });
    });

    it("serves its member's resources under their own URIs", async () => {
      const direct = (await (await connect('everything')).listResources()).resources.map((r) => r.uri);
      const client = await connect('assistant');
      const { resources } = await client.listResources();
      expect(resources.map((r) => r.uri)).toEqual(direct);
      expect(direct.length).toBeGreaterThan(0);
      const read = await client.readResource({ uri: direct[0]! });
      expect(read.contents[0]?.uri).toBe(direct[0]);
      await expect(client.readResource({ uri: 'nowhere://x' })).rejects.toMatchObject({ code: -32002 });
    });

    it("applies a key's server allow-list to the virtual server and to each member's real server", async () => {
      const key = async (serverIds: string[]) => {
        const res = await api('POST', '/api/api-keys', {
          name: `vs-${serverIds.join('-')}`,
          scopes: ['mcp:read', 'mcp:write'],
          server_ids: serverIds,
        });
        expect(res.status).toBe(201);
        return { 'X-API-Key': ((await res.json()) as { key: string }).key };
      };
      const limited = await key(['assistant', 'everything']);
      const client = await connect('assistant', limited);
      expect((await client.listTools()).tools.map((t) => t.name)).toEqual(['shout']);
      expect(textOf(await client.callTool({ name: 'shout', arguments: { message: 'ok' } }))).toBe('Echo: ok');
      await expect(client.callTool({ name: 'home_dir', arguments: {} })).rejects.toThrow(/toolbox/);
      const rest = await fetch(`${base}/api/virtual-servers/assistant/tools`, { headers: limited });
      expect(((await rest.json()) as { tools: { name: string }[] }).tools.map((t) => t.name)).toEqual(['shout']);
      // Without the virtual server on its list, a key does not reach it at all.
      const outside = await key(['everything']);
      await expect(connect('assistant', outside)).rejects.toThrow(/403|assistant/);
      const refused = await fetch(`${base}/api/virtual-servers/assistant/tools`, { headers: outside });
      expect(refused.status).toBe(403);
    });

    it('refuses a configuration whose virtual server takes a server id or names an unknown server', () => {
      const file = path.join(gateway.dir, 'bad.yml');
      const load = (yaml: string) => {
        writeFileSync(file, EVERYTHING_AND_TOOLBOX_YAML + yaml);
        return () => loadConfig({ configFiles: file, env: { PATH: process.env.PATH } });
      };
      expect(load('  virtual-servers:\n    everything:\n      tools: [{server: toolbox, tool: echo}]\n')).toThrow(
        /mcp\.virtual-servers\.everything.*is the id of a server in mcp\.servers/,
      );
      expect(load('  virtual-servers:\n    v:\n      tools: [{server: nowhere, tool: echo}]\n')).toThrow(
        /mcp\.virtual-servers\.v\.tools\[0\]\.server.*unknown server 'nowhere'/,
      );
      expect(
        load(
          '  virtual-servers:\n    v:\n      tools: [{server: toolbox, tool: echo}, {server: everything, tool: echo}]\n',
        ),
      ).toThrow(/mcp\.virtual-servers\.v\.tools\[1\].*two members under one name/);
    });
  });

  describe('created through the API', () => {
    beforeAll(async () => {
      const res = await api('POST', '/api/virtual-servers', MIXED);
      expect(res.status).toBe(201);
      expect(await res.json()).toMatchObject({ id: 'mixed', source: 'api', mcp_url: '/mcp/mixed' });
    });

    it('is stored and listed beside the configuration one', async () => {
      expect(await storedIds()).toEqual(['mixed']);
      const res = await api('GET', '/api/virtual-servers');
      const list = (await res.json()) as { virtual_servers: { id: string; source: string }[] };
      expect(list.virtual_servers.map((v) => `${v.id}:${v.source}`)).toEqual(['assistant:config', 'mixed:api']);
    });

    it('is seen by the SDK client at once: the pattern expanded under upstream names, the fixed sum', async () => {
      const client = await connect('mixed');
      const { tools } = await client.listTools();
      expect(tools.map((t) => t.name)).toEqual(['pid', 'progress', 'add_forty']);
      const add = tools.find((t) => t.name === 'add_forty')!;
      expect(add.description).toBe('Adds 40');
      expect(Object.keys(add.inputSchema.properties ?? {})).toEqual(['a']);
      expect(textOf(await client.callTool({ name: 'add_forty', arguments: { a: 2 } }))).toBe(
        'The sum of 2 and 40 is 42.',
      );
    });

    it('is served to a 2026-07-28 stateless request with the same names and calls', async () => {
      const discover = await modern('mixed', 'server/discover');
      const info = (discover.result?._meta as Record<string, { name: string }>)['io.modelcontextprotocol/serverInfo'];
      expect(info?.name).toBe('Mixed');
      const list = await modern('mixed', 'tools/list');
      const names = (list.result?.tools as { name: string }[]).map((t) => t.name);
      expect(names).toEqual(['pid', 'progress', 'add_forty']);
      const call = await modern('mixed', 'tools/call', { name: 'add_forty', arguments: { a: 1 } });
      expect(textOf(call.result)).toBe('The sum of 1 and 40 is 41.');
      const hidden = await modern('mixed', 'tools/call', { name: 'add_forty', arguments: { a: 1, b: 2 } });
      expect(hidden.error).toMatchObject({ code: -32602 });
      expect(hidden.error!.message).toMatch(/'b' of 'add_forty' is fixed/);
    });

    it('runs a call of a client declaring MCP Tasks as a job of the real tool with the fixed values', async () => {
      const tasks = { extensions: { 'io.modelcontextprotocol/tasks': {} } };
      const hidden = await modern('mixed', 'tools/call', { name: 'add_forty', arguments: { a: 3, b: 2 } }, tasks);
      expect(hidden.error).toMatchObject({ code: -32602 });
      const answer = await modern('mixed', 'tools/call', { name: 'add_forty', arguments: { a: 3 } }, tasks);
      expect(answer.error).toBeUndefined();
      // Answered at once or as a task (a job slower than the sync window): either way the job is on record.
      await waitFor(
        async () => {
          const res = await api('GET', '/api/executions?tool=get-sum&limit=100');
          const rows = ((await res.json()) as { executions: Record<string, unknown>[] }).executions;
          return rows.some(
            (r) =>
              r.virtual_server_id === 'mixed' &&
              r.status === 'completed' &&
              JSON.stringify(r.parameters) === JSON.stringify({ a: 3, b: 40 }),
          );
        },
        10_000,
        'the task of add_forty on record',
      );
    });

    it('is served through REST: its tools, a call recorded with the virtual server, a hidden argument refused', async () => {
      const tools = (await (await api('GET', '/api/virtual-servers/mixed/tools')).json()) as {
        tools: { name: string; server_id: string; tool_name: string }[];
      };
      expect(tools.tools.map((t) => `${t.name}=${t.server_id}/${t.tool_name}`)).toEqual([
        'pid=toolbox/pid',
        'progress=toolbox/progress',
        'add_forty=everything/get-sum',
      ]);
      const call = await api('POST', '/api/virtual-servers/mixed/tools/add_forty', { a: 5 });
      expect(call.status).toBe(200);
      const outcome = (await call.json()) as { execution_id: string; server_id: string; result: unknown };
      expect(outcome.server_id).toBe('everything');
      expect(textOf(outcome.result)).toBe('The sum of 5 and 40 is 45.');
      const record = (await (await api('GET', `/api/executions/${outcome.execution_id}`)).json()) as Record<
        string,
        unknown
      >;
      expect(record).toMatchObject({
        virtual_server_id: 'mixed',
        server_id: 'everything',
        tool_name: 'get-sum',
        channel: 'rest',
      });

      const hidden = await api('POST', '/api/virtual-servers/mixed/tools/add_forty', { a: 5, b: 1 });
      expect(hidden.status).toBe(400);
      const error = ((await hidden.json()) as Envelope).error;
      expect(error.code).toBe('INVALID_PARAMETERS');
      expect(error.details?.fields).toEqual([{ field: 'b', problems: ['fixed by the virtual server'] }]);
      const unknown = await api('POST', '/api/virtual-servers/mixed/tools/get-sum', { a: 1, b: 1 });
      expect(unknown.status).toBe(404);
      expect((await api('GET', '/api/virtual-servers/nope/tools')).status).toBe(404);
    });

    it('has its own tag in /v3/api-docs, one typed operation per exposed tool', async () => {
      const doc = (await (await api('GET', '/v3/api-docs')).json()) as {
        tags: { name: string }[];
        paths: Record<string, { post?: { tags: string[]; operationId: string; requestBody: unknown } }>;
        components: { schemas: Record<string, { properties?: Record<string, unknown> }> };
      };
      const tags = doc.tags.map((t) => t.name);
      expect(tags).toEqual(expect.arrayContaining(['Virtual server: assistant', 'Virtual server: mixed']));
      const add = doc.paths['/api/virtual-servers/mixed/tools/add_forty']?.post;
      expect(add?.tags).toEqual(['Virtual server: mixed']);
      expect(add?.operationId).toBe('virtual_mixed__add_forty');
      expect(Object.keys(doc.components.schemas['virtual_mixed__add_forty.input']?.properties ?? {})).toEqual(['a']);
      expect(Object.keys(doc.paths).filter((p) => p.startsWith('/api/virtual-servers/assistant/tools/'))).toEqual([
        '/api/virtual-servers/assistant/tools/home_dir',
        '/api/virtual-servers/assistant/tools/nap',
        '/api/virtual-servers/assistant/tools/shout',
      ]);
    });
  });

  describe('a client generated from the OpenAPI document', () => {
    const bin = path.join(REPO, 'node_modules', '.bin');
    const program = `
import type { paths } from './api';
type Post<P extends keyof paths> = paths[P] extends { post: infer O } ? O : never;
type BodyOf<P extends keyof paths> = Post<P> extends { requestBody?: { content: { 'application/json': infer B } } } ? B : never;
type OkOf<P extends keyof paths> = Post<P> extends { responses: { 200: { content: { 'application/json': infer R } } } } ? R : never;
async function call<P extends keyof paths>(path: P, body: BodyOf<P>): Promise<OkOf<P>> {
  const res = await fetch(process.env.API_URL + String(path), {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': process.env.API_KEY ?? '' },
    body: JSON.stringify(body),
  });
  if (res.status !== 200) throw new Error(String(path) + ': ' + res.status + ' ' + (await res.text()));
  return (await res.json()) as OkOf<P>;
}
// @ts-expect-error b is fixed by the virtual server: not in the body's type
const withFixed: BodyOf<'/api/virtual-servers/mixed/tools/add_forty'> = { a: 1, b: 2 };
// @ts-expect-error message is required
const noMessage: BodyOf<'/api/virtual-servers/assistant/tools/shout'> = {};
void withFixed; void noMessage;
void (async () => {
  const sum = await call('/api/virtual-servers/mixed/tools/add_forty', { a: 2 });
  const shout = await call('/api/virtual-servers/assistant/tools/shout', { message: 'typed' });
  console.log(JSON.stringify({ sum: sum.result?.content, shout: shout.result?.content }));
})();
`;

    it('types the exposed tools (no hidden argument) and calls them', async () => {
      const dir = mkdtempSync(path.join(tmpdir(), 'virtual-client-'));
      try {
        const doc = await (await api('GET', '/v3/api-docs')).text();
        writeFileSync(path.join(dir, 'openapi.json'), doc);
        await run(path.join(bin, 'openapi-typescript'), ['openapi.json', '-o', 'api.ts'], { cwd: dir });
        writeFileSync(path.join(dir, 'client.ts'), program);
        // Strict compile: the @ts-expect-error lines fail it if the generated types let a hidden argument through.
        await run(
          path.join(bin, 'tsc'),
          [
            '--strict',
            '--target',
            'ES2022',
            '--module',
            'commonjs',
            '--lib',
            'ES2022',
            '--types',
            'node',
            '--typeRoots',
            path.join(REPO, 'node_modules', '@types'),
            '--skipLibCheck',
            '--outDir',
            'out',
            'client.ts',
          ],
          { cwd: dir },
        ).catch((error: { stdout?: string }) => {
          throw new Error(`the generated client does not compile:\n${error.stdout}`);
        });
        const { stdout } = await run(process.execPath, [path.join(dir, 'out', 'client.js')], {
          env: { ...process.env, API_URL: base, API_KEY: ADMIN_HEADERS['X-API-Key'] },
        });
        expect(JSON.parse(stdout)).toEqual({
          sum: [{ type: 'text', text: 'The sum of 2 and 40 is 42.' }],
          shout: [{ type: 'text', text: 'Echo: typed' }],
        });
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }, 120_000);
  });

  describe('tool-level policy on the member tools', () => {
    const rule = { id: 'no-naps', effect: 'deny', server: 'toolbox', tool: 'sleep' };
    beforeAll(async () => {
      expect((await api('POST', '/api/policy/rules', rule)).status).toBe(201);
    });
    afterAll(async () => {
      expect((await api('DELETE', `/api/policy/rules/${rule.id}`)).status).toBe(200);
    });

    it('hides a denied member from the MCP lists of both revisions, REST and the OpenAPI document', async () => {
      const client = await connect('assistant');
      expect((await client.listTools()).tools.map((t) => t.name)).toEqual(['shout', 'home_dir']);
      const modernList = await modern('assistant', 'tools/list');
      expect((modernList.result?.tools as { name: string }[]).map((t) => t.name)).toEqual(['shout', 'home_dir']);
      const rest = (await (await api('GET', '/api/virtual-servers/assistant/tools')).json()) as {
        tools: { name: string }[];
      };
      expect(rest.tools.map((t) => t.name)).toEqual(['shout', 'home_dir']);
      const doc = (await (await api('GET', '/v3/api-docs')).json()) as { paths: Record<string, unknown> };
      expect(doc.paths).not.toHaveProperty(['/api/virtual-servers/assistant/tools/nap']);
      expect(doc.paths).toHaveProperty(['/api/virtual-servers/assistant/tools/shout']);
    });

    it('refuses its call everywhere with the rule named', async () => {
      const client = await connect('assistant');
      await expect(client.callTool({ name: 'nap', arguments: { ms: 1 } })).rejects.toThrow(/no-naps/);
      const modernCall = await modern('assistant', 'tools/call', { name: 'nap', arguments: { ms: 1 } });
      expect(modernCall.error?.message).toMatch(/no-naps/);
      const rest = await api('POST', '/api/virtual-servers/assistant/tools/nap', { ms: 1 });
      expect(rest.status).toBe(403);
      expect(((await rest.json()) as Envelope).error.message).toMatch(/no-naps/);
    });
  });

  describe('refused definitions store nothing', () => {
    const refusals: [string, unknown, number, RegExp][] = [
      ['an id of a real server', { id: 'toolbox', tools: [] }, 409, /'toolbox' is the id of a real server/],
      ['an id of a configured virtual server', { id: 'assistant', tools: [] }, 409, /mcp\.virtual-servers/],
      ['an id taken through the API', { id: 'mixed', tools: [] }, 409, /'mixed' already exists/],
      [
        'an unknown server',
        { id: 'v1', tools: [{ server: 'nowhere', tool: 'echo' }] },
        400,
        /unknown server 'nowhere'/,
      ],
      ['an unknown tool', { id: 'v2', tools: [{ server: 'toolbox', tool: 'nope' }] }, 400, /has no tool 'nope'/],
      ['a pattern matching nothing', { id: 'v3', tools: [{ server: 'toolbox', tool: 'zz*' }] }, 400, /matches no tool/],
      [
        'two members under one name',
        {
          id: 'v4',
          tools: [
            { server: 'toolbox', tool: 'echo' },
            { server: 'everything', tool: 'echo' },
          ],
        },
        409,
        /two members under one name/,
      ],
      [
        'a pattern clashing with a rename once expanded',
        {
          id: 'v5',
          tools: [
            { server: 'everything', tool: 'echo', name: 'pid' },
            { server: 'toolbox', tool: 'p*' },
          ],
        },
        409,
        /'pid' is already exposed by tools\[0\]/,
      ],
      ['an unknown key', { id: 'v6', tools: [{ server: 'toolbox', tool: 'echo', rename: 'x' }] }, 400, /tools\.0/],
      ['a bad id', { id: '../x', tools: [] }, 400, /virtual server id/],
    ];

    it.each(refusals)('refuses %s', async (_what, body, status, message) => {
      const res = await api('POST', '/api/virtual-servers', body);
      expect(res.status).toBe(status);
      const envelope = (await res.json()) as Envelope & { error: { request_id: string } };
      expect(envelope.error.message).toMatch(message);
      expect(envelope.error.request_id).toEqual(expect.any(String));
      expect(await storedIds()).toEqual(['mixed']);
    });

    it('refuses a real server registered under a virtual server id', async () => {
      const res = await api('POST', '/api/servers', {
        id: 'mixed',
        type: 'stdio',
        configuration: { command: 'node', args: ['-e', ''] },
      });
      expect(res.status).toBe(409);
      expect(((await res.json()) as Envelope).error.message).toMatch(/'mixed' is the id of a virtual server/);
    });

    it('replaces and removes one of the API, but not one of the file', async () => {
      expect((await api('PUT', '/api/virtual-servers/assistant', { tools: [] })).status).toBe(409);
      expect((await api('DELETE', '/api/virtual-servers/assistant')).status).toBe(409);
      const replaced = await api('PUT', '/api/virtual-servers/mixed', { ...MIXED, tools: [MIXED.tools[1]] });
      expect(replaced.status).toBe(200);
      const client = await connect('mixed');
      expect((await client.listTools()).tools.map((t) => t.name)).toEqual(['add_forty']);
      // Back as it was for the tests after this one.
      expect((await api('PUT', '/api/virtual-servers/mixed', MIXED)).status).toBe(200);
    });
  });

  describe('a second replica on the same database', () => {
    let replica: TestGateway;
    beforeAll(async () => {
      // The toolbox alone: the definition below composes only its tools.
      const toolboxOnly = `mcp:\n  servers:\n    toolbox:\n      type: stdio\n      command: node\n      args: ["${TOOLBOX}"]\n`;
      replica = await startTestGateway({ databaseUrl: db.url, yaml: toolboxOnly });
      await waitForTools(replica.addresses.api, ['toolbox']);
    }, 60_000);
    afterAll(async () => {
      await replica?.stop();
    });

    it('applies a definition written on the first replica without a restart, and its removal', async () => {
      const names = async () => {
        const res = await fetch(`${replica.addresses.api}/api/virtual-servers/echoes/tools`, {
          headers: ADMIN_HEADERS,
        });
        return res.status === 200 ? ((await res.json()) as { tools: { name: string }[] }).tools.map((t) => t.name) : [];
      };
      const created = await api('POST', '/api/virtual-servers', {
        id: 'echoes',
        tools: [{ server: 'toolbox', tool: 'echo', name: 'again' }],
      });
      expect(created.status).toBe(201);
      await waitFor(async () => (await names()).join() === 'again', 10_000, 'the replica serving echoes');
      const client = new Client({ name: 'virtual-e2e', version: '1.0.0' });
      await client.connect(
        new StreamableHTTPClientTransport(new URL(`${replica.addresses.api}/mcp/echoes`), {
          requestInit: { headers: ADMIN_HEADERS },
        }),
      );
      clients.push(client);
      expect(textOf(await client.callTool({ name: 'again', arguments: { message: 'there' } }))).toBe('Echo: there');

      expect((await api('DELETE', '/api/virtual-servers/echoes')).status).toBe(200);
      await waitFor(
        async () =>
          (await fetch(`${replica.addresses.api}/api/virtual-servers/echoes/tools`, { headers: ADMIN_HEADERS }))
            .status === 404,
        10_000,
        'echoes gone on the replica',
      );
    });
  });

  describe('a member whose upstream is down', () => {
    it('makes only that member unavailable', async () => {
      const registered = await api('POST', '/api/servers', {
        id: 'broken',
        type: 'stdio',
        configuration: { command: 'node', args: [path.join(gateway.dir, 'missing.js')], timeout: 2000 },
      });
      expect(registered.status).toBe(201);
      const created = await api('POST', '/api/virtual-servers', {
        id: 'partial',
        tools: [
          { server: 'broken', tool: 'echo', name: 'gone' },
          { server: 'everything', tool: 'echo' },
        ],
      });
      expect(created.status).toBe(201);
      const client = await connect('partial');
      expect((await client.listTools()).tools.map((t) => t.name)).toEqual(['echo']);
      expect(textOf(await client.callTool({ name: 'echo', arguments: { message: 'still here' } }))).toBe(
        'Echo: still here',
      );
      const gone = await api('POST', '/api/virtual-servers/partial/tools/gone', { message: 'x' });
      expect(gone.status).toBe(503);
      expect(((await gone.json()) as Envelope).error.message).toMatch(/server 'broken' is not connected/);
      await expect(client.callTool({ name: 'gone', arguments: { message: 'x' } })).rejects.toThrow(
        /server 'broken' is not connected/,
      );
    });
  });
});
