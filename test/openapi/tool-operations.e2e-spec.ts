import path from 'node:path';
import { mapToolSchema } from 'src/openapi/json-schema-to-openapi';
import { ADMIN_HEADERS } from '../support/auth';
import { EVERYTHING, TOOLBOX } from '../support/paths';
import { createTestDatabase, type TestDatabase } from '../support/test-database';
import { startTestGateway, type TestGateway } from '../support/test-gateway';
import { waitFor } from '../support/wait';

const SCHEMA_SERVER = path.join(__dirname, 'fixtures', 'schema-server.js');

type Json = any;

/** Resolves a local `$ref` (`#/a/b`) against the document, as a generator would. */
function resolvePointer(doc: Json, ref: string): Json {
  return ref
    .slice(2)
    .split('/')
    .map((t) => decodeURIComponent(t).replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce((node, token) => (node === undefined ? undefined : node[token]), doc);
}

function allRefs(node: Json, out: string[] = []): string[] {
  if (Array.isArray(node)) node.forEach((n) => allRefs(n, out));
  else if (node && typeof node === 'object') {
    for (const [k, v] of Object.entries(node)) {
      if (k === '$ref' && typeof v === 'string') out.push(v);
      else allRefs(v, out);
    }
  }
  return out;
}

describe('one typed OpenAPI operation per tool', () => {
  let db: TestDatabase;
  let gateway: TestGateway;
  let api: string;

  const docWith = async (headers: Record<string, string> = ADMIN_HEADERS) => {
    const res = await fetch(`${api}/v3/api-docs`, { headers });
    return { status: res.status, body: (await res.json()) as Json };
  };
  const post = async (p: string, body: unknown, headers: Record<string, string> = ADMIN_HEADERS) => {
    const res = await fetch(`${api}${p}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Json };
  };
  const createKey = async (scopes: string[], serverIds?: string[]) => {
    const { status, body } = await post('/api/api-keys', {
      name: `k-${scopes.join('-')}-${serverIds?.join('-') ?? 'all'}`,
      scopes,
      ...(serverIds ? { server_ids: serverIds } : {}),
    });
    expect(status).toBe(201);
    return { 'X-API-Key': body.key as string };
  };

  beforeAll(async () => {
    db = await createTestDatabase('openapi_tools');
    gateway = await startTestGateway({
      databaseUrl: db.url,
      yaml:
        'mcp:\n  servers:\n' +
        `    everything:\n      type: stdio\n      name: Everything demo\n      command: node\n      args: ["${EVERYTHING}", stdio]\n` +
        `    shop:\n      type: stdio\n      command: node\n      args: ["${SCHEMA_SERVER}"]\n` +
        `    toolbox:\n      type: stdio\n      command: node\n      args: ["${TOOLBOX}"]\n      pool-size: 1\n`,
    });
    api = gateway.addresses.api;
    await waitFor(
      async () => {
        const paths = Object.keys((await docWith()).body.paths);
        return ['everything/tools/echo', 'shop/tools/create_order', 'toolbox/tools/echo'].every((p) =>
          paths.includes(`/api/servers/${p}`),
        );
      },
      30_000,
      'the tools of the three servers in /v3/api-docs',
    );
  }, 60_000);

  afterAll(async () => {
    await gateway?.stop();
    await db?.drop();
  });

  it("describes server-everything's echo as a typed operation with its annotations, tag and security", async () => {
    const { body: doc } = await docWith();
    const op = doc.paths['/api/servers/everything/tools/echo'].post;
    expect(op.operationId).toBe('call_everything__echo');
    expect(op.tags).toEqual(['Tools: everything']);
    expect(op['x-mcp-server']).toBe('everything');
    expect(op['x-mcp-tool']).toBe('echo');
    expect(op['x-mcp-annotations']).toMatchObject({ readOnlyHint: true, destructiveHint: false, idempotentHint: true });
    expect(op.description).toContain('**Hints:** read-only, not destructive, idempotent.');
    expect(op.security.flatMap((s: Json) => Object.keys(s)).sort()).toEqual(['api_key', 'bearer']);
    // the call's options, as on the generic route: Prefer: respond-async and Idempotency-Key headers, timeout and mode
    // in the query; 202, and an event stream on request
    expect(op.parameters.map((p: Json) => `${p.in}:${p.name}`).sort()).toEqual([
      'header:Idempotency-Key',
      'header:Prefer',
      'query:mode',
      'query:timeout',
    ]);
    expect(op.parameters.find((p: Json) => p.name === 'timeout').schema).toMatchObject({
      minimum: 1,
      maximum: 3_600_000,
    });
    expect(op.parameters.find((p: Json) => p.name === 'mode').schema).toMatchObject({ enum: ['sync', 'async'] });
    expect(op.responses['202'].content['application/json'].schema).toEqual({
      $ref: '#/components/schemas/JobAcceptedDto',
    });
    expect(Object.keys(op.responses['200'].content).sort()).toEqual(['application/json', 'text/event-stream']);
    // the body is the arguments: its schema is the tool's input schema (mapped to OpenAPI 3.1), nothing around it
    expect(op.requestBody.required).toBe(true);
    const body = op.requestBody.content['application/json'];
    expect(body.schema).toEqual({ $ref: '#/components/schemas/call_everything__echo.input' });
    expect(body.example).toEqual({ message: 'string' });
    const tool = await fetch(`${api}/api/tools/echo?server_id=everything`, { headers: ADMIN_HEADERS });
    const { input_schema } = (await tool.json()) as Json;
    const mapped = mapToolSchema(input_schema, 'call_everything__echo.input');
    expect(resolvePointer(doc, body.schema.$ref)).toEqual(mapped.components['call_everything__echo.input']);
    expect(resolvePointer(doc, body.schema.$ref)).toMatchObject({
      type: 'object',
      required: ['message'],
      properties: { message: { type: 'string' } },
    });
    expect(doc.tags).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ name: 'Tools: everything', description: expect.stringContaining('Everything demo') }),
      ]),
    );
  });

  it('maps $defs/$ref (recursive too), oneOf, enums and formats into components that resolve', async () => {
    const { body: doc } = await docWith();
    const op = doc.paths['/api/servers/shop/tools/create_order'].post;
    expect(op.operationId).toBe('call_shop__create_order');
    expect(op.summary).toBe('Create an order (create_order)');
    expect(op['x-mcp-annotations']).toMatchObject({ destructiveHint: true });
    // the "Try it out" example: valid arguments, nothing else
    expect(op.requestBody.content['application/json'].example).toEqual({
      customer: { email: 'user@example.com' },
      priority: 'low',
    });
    const input = resolvePointer(doc, op.requestBody.content['application/json'].schema.$ref);
    expect(input.$defs).toBeUndefined();
    expect(input.$schema).toBeUndefined();
    expect(input.properties.priority).toEqual({ type: 'string', enum: ['low', 'normal', 'high'] });
    expect(input.properties.deliver_at).toEqual({ type: 'string', format: 'date-time' });
    expect(input.properties.payment.oneOf).toHaveLength(2);
    expect(input.properties.customer).toEqual({ $ref: '#/components/schemas/call_shop__create_order.input.Customer' });
    const customer = doc.components.schemas['call_shop__create_order.input.Customer'];
    expect(customer.properties.email).toEqual({ type: 'string', format: 'email' });
    expect(customer.properties.referrer).toEqual({
      $ref: '#/components/schemas/call_shop__create_order.input.Customer',
    });
    // Every $ref anywhere in the document points at something that exists.
    const refs = allRefs(doc);
    expect(refs.length).toBeGreaterThan(50);
    expect(refs.filter((ref) => resolvePointer(doc, ref) === undefined)).toEqual([]);
  });

  it("types result.structured_content of the answer with the tool's outputSchema", async () => {
    const { body: doc } = await docWith();
    const op = doc.paths['/api/servers/shop/tools/create_order'].post;
    const schema = op.responses['200'].content['application/json'].schema;
    expect(schema.allOf[0]).toEqual({ $ref: '#/components/schemas/ExecutionResultDto' });
    const structured = schema.allOf[1].properties.result.properties.structured_content;
    expect(resolvePointer(doc, structured.$ref)).toMatchObject({
      required: ['order_id', 'total'],
      properties: { order_id: { type: 'string', format: 'uuid' } },
    });
  });

  it('executes through the per-tool paths, a percent-encoded tool name included', async () => {
    const echo = await post('/api/servers/everything/tools/echo', { message: 'typed' });
    expect(echo.status).toBe(200);
    expect(echo.body.result.content[0].text).toContain('typed');
    const { body: doc } = await docWith();
    const encoded = Object.keys(doc.paths).find((p) => p.startsWith('/api/servers/shop/tools/admin'));
    expect(encoded).toBe('/api/servers/shop/tools/admin%2Freset.v2');
    expect(doc.paths[encoded!].post.operationId).toMatch(/^call_shop__admin_reset_v2_[0-9a-f]{8}$/);
    const reset = await post(encoded!, {});
    expect(reset.status).toBe(200);
    expect(reset.body.result.content[0].text).toBe('called admin/reset.v2');
    const order = await post('/api/servers/shop/tools/create_order', {
      customer: { email: 'a@example.com' },
      priority: 'high',
    });
    expect(order.status).toBe(200);
    expect(order.body.result.structured_content).toEqual({ order_id: expect.any(String), total: 42.5 });
  });

  it('adds the operation of a tool that appears at run time (tools/list_changed), without a restart', async () => {
    const before = (await docWith()).body;
    expect(before.paths['/api/servers/toolbox/tools/late_tool']).toBeUndefined();
    expect((await post('/api/servers/toolbox/tools/add_tool', { name: 'late_tool' })).status).toBe(200);
    await waitFor(
      async () => (await docWith()).body.paths['/api/servers/toolbox/tools/late_tool'] !== undefined,
      10_000,
      'late_tool in the document',
    );
    const after = (await docWith()).body;
    expect(after.paths['/api/servers/toolbox/tools/late_tool'].post.operationId).toBe('call_toolbox__late_tool');
  });

  it("stays within the caller's permissions when fetched with a credential", async () => {
    const writerOnEverything = await createKey(['mcp:read', 'mcp:write'], ['everything']);
    const narrow = (await docWith(writerOnEverything)).body;
    const toolPaths = Object.keys(narrow.paths).filter((p) => /^\/api\/servers\/[^{]/.test(p));
    expect(toolPaths.length).toBeGreaterThan(5);
    expect(toolPaths.every((p) => p.startsWith('/api/servers/everything/tools/'))).toBe(true);
    expect(Object.keys(narrow.components.schemas).some((n) => n.startsWith('call_shop__'))).toBe(false);
    expect(narrow.tags.map((t: Json) => t.name)).not.toContain('Tools: shop');
    // admin-only routes are gone for this caller, its own routes stay
    expect(narrow.paths['/api/api-keys']).toBeUndefined();
    expect(narrow.paths['/api/tools/{name}/execute']).toBeDefined();

    const reader = await createKey(['mcp:read']);
    const readOnly = (await docWith(reader)).body;
    expect(Object.keys(readOnly.paths).filter((p) => /^\/api\/servers\/[^{]/.test(p))).toEqual([]);
    expect(readOnly.paths['/api/tools/{name}/execute']).toBeUndefined();
    expect(readOnly.paths['/api/tools'].get).toBeDefined();

    const refused = await docWith({ 'X-API-Key': 'gmcp_not-a-real-key-000000000000000000000000000' });
    expect(refused.status).toBe(401);
    expect(refused.body.error.code).toBe('AUTHENTICATION_FAILED');

    const admin = (await docWith(ADMIN_HEADERS)).body;
    expect(admin.paths['/api/servers/shop/tools/create_order']).toBeDefined();
    expect(admin.paths['/api/api-keys']).toBeDefined();
  });

  it('leaves the tool operations out of the document fetched without a credential (mcp.openapi.anonymous-tools off)', async () => {
    const { status, body: anonymous } = await docWith({});
    expect(status).toBe(200);
    expect(Object.keys(anonymous.paths).filter((p) => /^\/api\/servers\/[^{]/.test(p))).toEqual([]);
    expect(Object.keys(anonymous.components.schemas).filter((n) => n.startsWith('call_'))).toEqual([]);
    expect(anonymous.tags.map((t: Json) => t.name).filter((n: string) => n.startsWith('Tools: '))).toEqual([]);
    // the generic routes stay described; the per-server one with a free-form body of arguments and its options
    const generic = anonymous.paths['/api/servers/{id}/tools/{tool}'].post;
    expect(generic.requestBody.content['application/json'].schema).toMatchObject({
      type: 'object',
      additionalProperties: true,
    });
    expect(generic.parameters.map((p: Json) => `${p.in}:${p.name}`).sort()).toEqual([
      'header:Idempotency-Key',
      'header:Prefer',
      'path:id',
      'path:tool',
      'query:mode',
      'query:timeout',
    ]);
    expect(generic.description).toContain('There is no wrapper');
    expect(anonymous.paths['/api/api-keys']).toBeDefined();
  });

  it('serves the same live document as YAML, and Swagger UI starts from the anonymous one', async () => {
    const yaml = await fetch(`${api}/v3/api-docs.yaml`, { headers: ADMIN_HEADERS });
    expect(yaml.status).toBe(200);
    expect(await yaml.text()).toContain('operationId: call_shop__create_order');
    const init = await fetch(`${api}/docs/swagger-ui-init.js`);
    expect(init.status).toBe(200);
    const script = await init.text();
    expect(script).toContain('executeServerTool');
    expect(script).not.toContain('call_everything__echo');
    // and reloads the document with the credential once authorized (exercised in test/browser)
    expect(script).toContain('restoreAuthorization');
  });
});
