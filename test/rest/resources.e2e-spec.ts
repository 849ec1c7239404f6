import { ADMIN_HEADERS } from '../support/auth';
import { createTestDatabase, type TestDatabase } from '../support/test-database';
import { startTestGateway, type TestGateway } from '../support/test-gateway';
import { EVERYTHING } from '../support/paths';

const SERVERS_YAML = `mcp:
  client:
    default-timeout: 10000
  servers:
    everything:
      type: stdio
      command: node
      args: ["${EVERYTHING}", stdio]
    everything-two:
      type: stdio
      command: node
      args: ["${EVERYTHING}", stdio]
`;

interface ResourceJson {
  uri: string;
  name: string;
  mime_type: string | null;
  server_id: string;
}
interface PromptJson {
  name: string;
  server_id: string;
}
interface Body {
  resources: ResourceJson[];
  resource_templates: { uri_template: string; server_id: string; name: string }[];
  prompts: PromptJson[];
  total_count: number;
  status: string;
  capabilities: { resources: number; prompts: number };
  uri: string;
  server_id: string;
  content: string;
  metadata: { content_type: string | null; size_bytes: number; encoding: string };
  contents: Record<string, unknown>[];
  error: {
    code: string;
    message: string;
    request_id: string;
    details: { servers: string[]; fields: { field: string; problems: string[] }[] };
  };
}

const FEATURES = 'demo://resource/static/document/features.md';
const BLOB = 'demo://resource/dynamic/blob/3';
const TEXT = 'demo://resource/dynamic/text/2';

describe('resources and prompts REST over real MCP servers', () => {
  let db: TestDatabase;
  let gateway: TestGateway;
  let api: string;

  const get = async (p: string) => {
    const res = await fetch(`${api}${p}`, { headers: ADMIN_HEADERS });
    return { status: res.status, headers: res.headers, body: (await res.json()) as Body };
  };
  const post = async (p: string, body: unknown) => {
    const res = await fetch(`${api}${p}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...ADMIN_HEADERS },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Body };
  };
  const q = (params: Record<string, string>) => new URLSearchParams(params).toString();

  beforeAll(async () => {
    db = await createTestDatabase('rest_resources');
    gateway = await startTestGateway({ databaseUrl: db.url, yaml: SERVERS_YAML });
    api = gateway.addresses.api;
    const deadline = Date.now() + 30_000;
    for (const id of ['everything', 'everything-two']) {
      for (;;) {
        const { body } = await get(`/api/servers/${id}`);
        if (body.status === 'active' && body.capabilities.resources > 0 && body.capabilities.prompts > 0) break;
        if (Date.now() > deadline) throw new Error(`server ${id} did not become active: ${JSON.stringify(body)}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  }, 60_000);

  afterAll(async () => {
    await gateway?.stop();
    await db?.drop();
  });

  describe('listing', () => {
    it('lists the resources of every server in snake_case', async () => {
      const { status, body } = await get('/api/resources');
      expect(status).toBe(200);
      expect(body.total_count).toBe(body.resources.length);
      const features = body.resources.filter((r) => r.uri === FEATURES);
      expect(features.map((r) => r.server_id).sort()).toEqual(['everything', 'everything-two']);
      expect(features[0]).toEqual({
        uri: FEATURES,
        name: 'features.md',
        description: expect.stringContaining('features.md'),
        mime_type: 'text/markdown',
        server_id: 'everything',
      });
    });

    it('filters by server, MIME type prefix and URI glob or substring', async () => {
      const one = await get(`/api/resources?${q({ server_id: 'everything' })}`);
      expect(one.body.resources.every((r) => r.server_id === 'everything')).toBe(true);
      expect(one.body.total_count).toBeGreaterThan(0);

      const markdown = await get(`/api/resources?${q({ server_id: 'everything', type: 'text/markdown' })}`);
      expect(markdown.body.total_count).toBeGreaterThan(0);
      expect(markdown.body.resources.every((r) => r.mime_type === 'text/markdown')).toBe(true);
      expect((await get(`/api/resources?${q({ server_id: 'everything', type: 'text' })}`)).body.total_count).toBe(
        one.body.total_count,
      );
      expect((await get(`/api/resources?${q({ type: 'image/png' })}`)).body).toEqual({ resources: [], total_count: 0 });

      const glob = await get(`/api/resources?${q({ server_id: 'everything', uri_pattern: 'demo://*/features.md' })}`);
      expect(glob.body.resources.map((r) => r.uri)).toEqual([FEATURES]);
      const substring = await get(`/api/resources?${q({ server_id: 'everything', uri_pattern: 'features' })}`);
      expect(substring.body.resources.map((r) => r.uri)).toEqual([FEATURES]);
    });

    it('lists the resource templates', async () => {
      const { status, body } = await get(`/api/resources/templates?${q({ server_id: 'everything' })}`);
      expect(status).toBe(200);
      expect(body.resource_templates.map((t) => t.uri_template).sort()).toEqual(
        expect.arrayContaining([
          'demo://resource/dynamic/blob/{resourceId}',
          'demo://resource/dynamic/text/{resourceId}',
        ]),
      );
      expect(body.resource_templates[0]).toMatchObject({ server_id: 'everything', name: expect.any(String) });
      expect((await get('/api/resources/templates')).body.total_count).toBe(body.total_count * 2);
    });

    it("serves a server's resources at /api/servers/{id}/resources", async () => {
      const view = await get('/api/servers/everything/resources');
      expect(view.status).toBe(200);
      expect(view.body).toEqual((await get(`/api/resources?${q({ server_id: 'everything' })}`)).body);
    });

    it('answers an unknown server with the 404 envelope', async () => {
      for (const p of [
        '/api/resources?server_id=nope',
        '/api/servers/nope/resources',
        '/api/prompts?server_id=nope',
        `/api/servers/nope/resources/read?${q({ uri: FEATURES })}`,
      ]) {
        const { status, headers, body } = await get(p);
        expect(status).toBe(404);
        expect(body.error).toMatchObject({ code: 'RESOURCE_NOT_FOUND', request_id: headers.get('x-request-id') });
      }
    });
  });

  describe('reading', () => {
    it('reads a text resource as text with its metadata', async () => {
      const { status, body } = await get(`/api/resources/content?${q({ uri: FEATURES, server_id: 'everything' })}`);
      expect(status).toBe(200);
      expect(body.uri).toBe(FEATURES);
      expect(body.server_id).toBe('everything');
      expect(body.content).toContain('# Everything Server - Features');
      expect(body.metadata).toEqual({
        content_type: 'text/markdown',
        size_bytes: Buffer.byteLength(body.content, 'utf8'),
        encoding: 'text',
      });
      expect(body.contents).toEqual([{ uri: FEATURES, mimeType: 'text/markdown', text: body.content }]);
    });

    it('reads a blob resource as base64, and decodes it for format=text', async () => {
      const blob = await get(`/api/resources/content?${q({ uri: BLOB, server_id: 'everything' })}`);
      expect(blob.status).toBe(200);
      expect(blob.body.metadata.encoding).toBe('base64');
      expect(blob.body.contents[0]).toEqual({ uri: BLOB, mimeType: 'text/plain', blob: blob.body.content });
      const decoded = Buffer.from(blob.body.content, 'base64').toString('utf8');
      expect(decoded).toMatch(/^Resource 3: This is a base64 blob/);
      expect(blob.body.metadata.size_bytes).toBe(Buffer.byteLength(decoded));

      const asText = await get(`/api/resources/content?${q({ uri: BLOB, server_id: 'everything', format: 'text' })}`);
      expect(asText.body.content).toMatch(/^Resource 3: This is a base64 blob/);
    });

    it('returns base64 for format=binary even for text', async () => {
      const { body } = await get(
        `/api/resources/content?${q({ uri: TEXT, server_id: 'everything', format: 'binary' })}`,
      );
      expect(body.metadata.encoding).toBe('base64');
      expect(Buffer.from(body.content, 'base64').toString('utf8')).toMatch(/^Resource 2: This is a plaintext resource/);
    });

    it('answers 400 INVALID_PARAMETERS for format=json on a resource that is not JSON', async () => {
      const { status, body } = await get(
        `/api/resources/content?${q({ uri: FEATURES, server_id: 'everything', format: 'json' })}`,
      );
      expect(status).toBe(400);
      expect(body.error.code).toBe('INVALID_PARAMETERS');
      expect(body.error.message).toContain('is not JSON');
    });

    it('finds the server from the resource lists and answers 409 when several offer the uri', async () => {
      const { status, body } = await get(`/api/resources/content?${q({ uri: FEATURES })}`);
      expect(status).toBe(409);
      expect(body.error.code).toBe('CONFLICT');
      expect(body.error.details.servers).toEqual(['everything', 'everything-two']);
    });

    it('answers 400 asking for server_id when no server offers the uri', async () => {
      const { status, body } = await get(`/api/resources/content?${q({ uri: 'nothing://here' })}`);
      expect(status).toBe(400);
      expect(body.error.message).toContain('server_id');
    });

    it('validates the uri: a scheme, at most 2048 characters', async () => {
      for (const uri of ['no-scheme/path', `demo://${'x'.repeat(2050)}`]) {
        const { status, body } = await get(`/api/resources/content?${q({ uri, server_id: 'everything' })}`);
        expect(status).toBe(400);
        expect(body.error.code).toBe('INVALID_PARAMETERS');
        expect(body.error.details.fields[0]!.field).toBe('uri');
      }
      expect((await get('/api/resources/content?server_id=everything')).status).toBe(400);
      expect((await get(`/api/resources/content?${q({ uri: FEATURES, format: 'xml' })}`)).status).toBe(400);
    });

    it('passes the upstream resources/read result through at /api/servers/{id}/resources/read', async () => {
      const { status, body } = await get(`/api/servers/everything/resources/read?${q({ uri: BLOB })}`);
      expect(status).toBe(200);
      expect(body).toEqual({ contents: [{ uri: BLOB, mimeType: 'text/plain', blob: expect.any(String) }] });
    });

    it('answers an unknown uri on a named server with 404', async () => {
      const { status, body } = await get(
        `/api/servers/everything/resources/read?${q({ uri: 'demo://resource/static/document/none.md' })}`,
      );
      expect(status).toBe(404);
      expect(body.error.code).toBe('RESOURCE_NOT_FOUND');
    });
  });

  it('documents every route in the OpenAPI document with its schemas', async () => {
    const doc = (await (await fetch(`${api}/v3/api-docs`)).json()) as {
      paths: Record<
        string,
        Record<
          string,
          { tags: string[]; responses: Record<string, unknown>; parameters?: { name: string }[]; requestBody?: unknown }
        >
      >;
      components: { schemas: Record<string, unknown> };
    };
    const routes: [string, string, string][] = [
      ['/api/resources', 'get', 'Resources'],
      ['/api/resources/templates', 'get', 'Resources'],
      ['/api/resources/content', 'get', 'Resources'],
      ['/api/servers/{id}/resources', 'get', 'Resources'],
      ['/api/servers/{id}/resources/read', 'get', 'Resources'],
      ['/api/prompts', 'get', 'Prompts'],
      ['/api/prompts/{name}/get', 'post', 'Prompts'],
      ['/api/servers/{id}/prompts', 'get', 'Prompts'],
    ];
    for (const [route, method, tag] of routes) {
      const op = doc.paths[route]?.[method];
      expect(op).toBeDefined();
      expect(op!.tags).toEqual([tag]);
      expect(Object.keys(op!.responses)).toEqual(expect.arrayContaining(['200', '500']));
    }
    expect(doc.paths['/api/resources/content']!.get!.parameters!.map((p) => p.name).sort()).toEqual([
      'format',
      'server_id',
      'uri',
    ]);
    expect(doc.paths['/api/prompts/{name}/get']!.post!.requestBody).toBeDefined();
    expect(Object.keys(doc.components.schemas)).toEqual(
      expect.arrayContaining(['ResourceListDto', 'ResourceContentDto', 'PromptResultDto', 'GetPromptDto']),
    );
  });

  describe('prompts', () => {
    it('lists prompts with their arguments', async () => {
      const { status, body } = await get(`/api/prompts?${q({ server_id: 'everything' })}`);
      expect(status).toBe(200);
      expect(body.total_count).toBe(body.prompts.length);
      expect(body.prompts.find((p) => p.name === 'args-prompt')).toEqual({
        name: 'args-prompt',
        title: 'Arguments Prompt',
        description: 'A prompt with two arguments, one required and one optional',
        arguments: [
          { name: 'city', description: 'Name of the city', required: true },
          // The upstream (zod `.describe().optional()`) drops the optional argument's description.
          { name: 'state', required: false },
        ],
        server_id: 'everything',
      });
      expect((await get('/api/prompts')).body.total_count).toBe(body.total_count * 2);
      expect((await get('/api/servers/everything/prompts')).body).toEqual(body);
    });

    it('gets a prompt with its arguments', async () => {
      const { status, body } = await post('/api/prompts/args-prompt/get', {
        server_id: 'everything',
        arguments: { city: 'Lisbon', state: 'Lisboa' },
      });
      expect(status).toBe(200);
      expect(body).toEqual({
        server_id: 'everything',
        description: 'A prompt with two arguments, one required and one optional',
        messages: [{ role: 'user', content: { type: 'text', text: "What's weather in Lisbon, Lisboa?" } }],
      });
    });

    it('returns 409 when the prompt name exists on two servers and server_id is missing', async () => {
      const { status, body } = await post('/api/prompts/simple-prompt/get', {});
      expect(status).toBe(409);
      expect(body.error.details.servers).toEqual(['everything', 'everything-two']);
    });

    it('refuses a missing required argument, non-string arguments, and an unknown prompt', async () => {
      const missing = await post('/api/prompts/args-prompt/get', {
        server_id: 'everything',
        arguments: { state: 'X' },
      });
      expect(missing.status).toBe(400);
      expect(missing.body.error.details.fields).toEqual([{ field: 'arguments.city', problems: ['is required'] }]);
      const typed = await post('/api/prompts/args-prompt/get', { server_id: 'everything', arguments: { city: 42 } });
      expect(typed.status).toBe(400);
      expect(typed.body.error.details.fields[0]!.field).toBe('arguments');
      const unknown = await post('/api/prompts/no-such-prompt/get', { server_id: 'everything' });
      expect(unknown.status).toBe(404);
    });
  });
});
