import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { StreamableHTTPClientTransport, StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  CreateMessageRequestSchema,
  ElicitRequestSchema,
  ListRootsRequestSchema,
  LoggingMessageNotificationSchema,
  ResourceUpdatedNotificationSchema,
  ToolListChangedNotificationSchema,
  type LoggingMessageNotification,
  type Progress,
} from '@modelcontextprotocol/sdk/types.js';
import { request } from 'node:http';
import { ADMIN_HEADERS } from '../support/auth';
import { createTestDatabase, type TestDatabase } from '../support/test-database';
import { startTestGateway, type TestGateway } from '../support/test-gateway';
import { waitFor } from '../support/wait';
import { EVERYTHING_AND_TOOLBOX_YAML, waitForTools } from './upstreams';

interface CallText {
  content: { type: string; text?: string }[];
  structuredContent?: Record<string, unknown>;
  isError?: boolean;
}

describe('MCP front door (/mcp, /mcp/{server_id}, /sse) with the official SDK client', () => {
  let db: TestDatabase;
  let gateway: TestGateway;
  let base: string;
  const clients: Client[] = [];

  beforeAll(async () => {
    db = await createTestDatabase('mcp_front_door');
    gateway = await startTestGateway({ databaseUrl: db.url, yaml: EVERYTHING_AND_TOOLBOX_YAML });
    base = gateway.addresses.api;
    await waitForTools(base, ['everything', 'toolbox']);
  }, 60_000);

  afterAll(async () => {
    await Promise.allSettled(clients.map((c) => c.close()));
    await gateway?.stop();
    await db?.drop();
  });

  async function connect(
    path: string,
    headers: Record<string, string> = ADMIN_HEADERS,
    capabilities: ConstructorParameters<typeof Client>[1] = {},
  ): Promise<Client> {
    const client = new Client({ name: 'e2e', version: '1.0.0' }, capabilities);
    await client.connect(new StreamableHTTPClientTransport(new URL(`${base}${path}`), { requestInit: { headers } }));
    clients.push(client);
    return client;
  }

  async function createKey(body: Record<string, unknown>): Promise<string> {
    const res = await fetch(`${base}/api/api-keys`, {
      method: 'POST',
      headers: { ...ADMIN_HEADERS, 'content-type': 'application/json' },
      body: JSON.stringify({ name: `mcp-${Math.random()}`, ...body }),
    });
    expect(res.status).toBe(201);
    return ((await res.json()) as { key: string }).key;
  }

  describe('per-server endpoint', () => {
    it('shows the upstream under its own names and calls through the REST rules (recorded with channel mcp)', async () => {
      const client = await connect('/mcp/toolbox');
      // The upstream as it presents itself (toolbox.js names itself "toolbox"), as a direct client would see it.
      const state = (await (await fetch(`${base}/api/servers/toolbox`, { headers: ADMIN_HEADERS })).json()) as {
        capabilities: { server_info: { name: string; version: string } };
      };
      expect(client.getServerVersion()).toMatchObject(state.capabilities.server_info);
      const { tools } = await client.listTools();
      const rest = (await (await fetch(`${base}/api/tools?server_id=toolbox`, { headers: ADMIN_HEADERS })).json()) as {
        tools: { name: string }[];
      };
      expect(tools.map((t) => t.name).sort()).toEqual(rest.tools.map((t) => t.name).sort());
      expect(tools.find((t) => t.name === 'echo')?.inputSchema).toMatchObject({ required: ['message'] });

      const result = (await client.callTool({ name: 'echo', arguments: { message: 'via mcp' } })) as CallText;
      expect(result.content[0]?.text).toBe('Echo: via mcp');
      expect(result.structuredContent).toEqual({ echoed: 'via mcp' });

      await waitFor(
        async () => {
          const res = await fetch(`${base}/api/executions?server_id=toolbox&tool=echo`, { headers: ADMIN_HEADERS });
          const body = (await res.json()) as { executions: { channel: string; status: string }[] };
          return body.executions.some((e) => e.channel === 'mcp' && e.status === 'completed');
        },
        10_000,
        'the execution record with channel mcp',
      );
    });

    it('validates arguments against the schema before the upstream (-32602) and passes upstream errors through', async () => {
      const client = await connect('/mcp/toolbox');
      await expect(client.callTool({ name: 'echo', arguments: { message: 42 } })).rejects.toMatchObject({
        code: -32602,
      });
      await expect(client.callTool({ name: 'fail', arguments: {} })).rejects.toMatchObject({
        code: -32050,
        message: expect.stringContaining('deliberate failure') as unknown,
      });
      const soft = (await client.callTool({ name: 'soft_fail', arguments: {} })) as CallText;
      expect(soft.isError).toBe(true);
    });

    it('serves resources, templates and prompts of the upstream unchanged', async () => {
      const client = await connect('/mcp/toolbox');
      const { resources } = await client.listResources();
      expect(resources.map((r) => r.uri)).toContain('fixture://doc/1');
      const read = await client.readResource({ uri: 'fixture://doc/1' });
      expect(read.contents[0]).toMatchObject({ text: 'content of fixture://doc/1' });
      expect((await client.listResourceTemplates()).resourceTemplates[0]?.uriTemplate).toBe('fixture://doc/{n}');
      const prompt = await client.getPrompt({ name: 'greet', arguments: { who: 'Ada' } });
      expect(prompt.messages[0]?.content).toMatchObject({ text: 'Hello Ada' });
      await expect(client.readResource({ uri: 'fixture://nope' })).rejects.toMatchObject({ code: -32002 });
      await client.ping();
    });

    it('answers 404 for an unknown server', async () => {
      const res = await fetch(`${base}/mcp/nope`, {
        method: 'POST',
        headers: {
          ...ADMIN_HEADERS,
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
        },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
      });
      expect(res.status).toBe(404);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('RESOURCE_NOT_FOUND');
    });
  });

  describe('aggregated endpoint', () => {
    it('offers every server namespaced <server_id>__<name> and routes calls, resources and prompts', async () => {
      const client = await connect('/mcp');
      expect(client.getServerVersion()?.name).toBe('globalmcp');
      expect(client.getInstructions()).toContain('<server_id>__<name>');
      const names = (await client.listTools()).tools.map((t) => t.name);
      expect(names).toEqual(expect.arrayContaining(['everything__echo', 'toolbox__echo', 'toolbox__progress']));
      expect(names.every((n) => /^[A-Za-z0-9_.-]{1,128}$/.test(n))).toBe(true);

      const everything = (await client.callTool({
        name: 'everything__echo',
        arguments: { message: 'hi' },
      })) as CallText;
      expect(everything.content[0]?.text).toContain('hi');
      const toolbox = (await client.callTool({ name: 'toolbox__echo', arguments: { message: 'tb' } })) as CallText;
      expect(toolbox.content[0]?.text).toBe('Echo: tb');
      await expect(client.callTool({ name: 'echo', arguments: {} })).rejects.toMatchObject({ code: -32602 });

      // Resource URIs unchanged, routed by the index.
      const uris = (await client.listResources()).resources.map((r) => r.uri);
      expect(uris).toContain('fixture://doc/2');
      expect((await client.readResource({ uri: 'fixture://doc/2' })).contents[0]).toMatchObject({
        text: 'content of fixture://doc/2',
      });
      const prompts = (await client.listPrompts()).prompts.map((p) => p.name);
      expect(prompts).toContain('toolbox__greet');
      const greet = await client.getPrompt({ name: 'toolbox__greet', arguments: { who: 'Bob' } });
      expect(greet.messages[0]?.content).toMatchObject({ text: 'Hello Bob' });
    });

    /** Adds a tool to the toolbox upstream at run time; resolves with the name /mcp lists it under. */
    async function addToolbox(client: Client, name: string): Promise<string> {
      await client.callTool({ name: 'toolbox__add_tool', arguments: { name } });
      const prefix = `toolbox__${name.slice(0, 5)}`;
      let exposed: string | undefined;
      await waitFor(
        async () => {
          exposed = (await client.listTools()).tools.find((t) => t.name.startsWith(prefix))?.name;
          return exposed !== undefined;
        },
        10_000,
        `the tool ${name.slice(0, 12)}… listed`,
      );
      return exposed!;
    }

    it('keeps a name over 128 characters valid (cut and hashed) and callable', async () => {
      const client = await connect('/mcp');
      // 125 characters upstream (within MCP's 128, and the executions table's tool_name), 134 with `toolbox__`.
      const exposed = await addToolbox(client, `long_${'n'.repeat(120)}`);
      expect(exposed).toHaveLength(128);
      expect(exposed).toMatch(/^[A-Za-z0-9_.-]+$/);
      const result = (await client.callTool({ name: exposed, arguments: {} })) as CallText;
      expect(result.content[0]?.text).toBe('dynamic tool');
    });

    it('records a call of a tool whose upstream name is over 128 characters, with the whole name', async () => {
      const client = await connect('/mcp');
      const long = `over_${'m'.repeat(135)}`;
      const exposed = await addToolbox(client, long);
      const result = (await client.callTool({ name: exposed, arguments: {} })) as CallText;
      expect(result.content[0]?.text).toBe('dynamic tool');
      // The audit trail keeps it (a name the table refused used to hold back every record written with it).
      await waitFor(
        async () => {
          const res = await fetch(`${base}/api/executions?server_id=toolbox&limit=100`, { headers: ADMIN_HEADERS });
          const body = (await res.json()) as { executions: { tool_name: string; channel: string }[] };
          return body.executions.some((e) => e.tool_name === long && e.channel === 'mcp');
        },
        10_000,
        'the record of the long-named call',
      );
    });

    it('keeps names stable across a restart of the upstream', async () => {
      const client = await connect('/mcp');
      const before = (await client.listTools()).tools.map((t) => t.name).sort();
      const res = await fetch(`${base}/api/servers/toolbox/restart`, { method: 'POST', headers: ADMIN_HEADERS });
      expect(res.status).toBeLessThan(300);
      await waitFor(
        async () => (await client.listTools()).tools.some((t) => t.name === 'toolbox__echo'),
        20_000,
        'toolbox back',
      );
      expect((await client.listTools()).tools.map((t) => t.name).sort()).toEqual(before);
    });
  });

  describe('auth', () => {
    it('401 with WWW-Authenticate naming the protected resource metadata, which is served', async () => {
      const res = await fetch(`${base}/mcp`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
      });
      expect(res.status).toBe(401);
      const challenge = res.headers.get('www-authenticate') ?? '';
      expect(challenge).toMatch(/^Bearer /);
      const url = /resource_metadata="([^"]+)"/.exec(challenge)?.[1];
      expect(url).toBe(`${base}/.well-known/oauth-protected-resource/mcp`);
      const metadata = (await (await fetch(url!)).json()) as Record<string, unknown>;
      expect(metadata).toMatchObject({
        resource: `${base}/mcp`,
        scopes_supported: expect.arrayContaining(['mcp:read', 'mcp:write']) as unknown,
        bearer_methods_supported: ['header'],
      });

      // Per server: the challenge names that server's metadata; an unknown server has none (404).
      const perServer = await fetch(`${base}/mcp/toolbox`, { method: 'POST' });
      expect(perServer.status).toBe(401);
      const serverUrl = /resource_metadata="([^"]+)"/.exec(perServer.headers.get('www-authenticate') ?? '')?.[1];
      expect(serverUrl).toBe(`${base}/.well-known/oauth-protected-resource/mcp/toolbox`);
      expect(((await (await fetch(serverUrl!)).json()) as { resource: string }).resource).toBe(`${base}/mcp/toolbox`);
      expect((await fetch(`${base}/.well-known/oauth-protected-resource/mcp/nope`)).status).toBe(404);
    });

    it('lists with mcp:read, needs mcp:write to call (403 with the scope challenge)', async () => {
      const key = await createKey({ scopes: ['mcp:read'] });
      const client = await connect('/mcp/toolbox', { 'X-API-Key': key });
      expect((await client.listTools()).tools.length).toBeGreaterThan(0);
      const error = await client.callTool({ name: 'echo', arguments: { message: 'x' } }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(StreamableHTTPError);
      expect((error as StreamableHTTPError).code).toBe(403);
    });

    it('filters what a session sees by the key allow-list', async () => {
      const key = await createKey({ scopes: ['mcp:read', 'mcp:write'], server_ids: ['toolbox'] });
      const client = await connect('/mcp', { 'X-API-Key': key });
      const names = (await client.listTools()).tools.map((t) => t.name);
      expect(names.length).toBeGreaterThan(0);
      expect(names.every((n) => n.startsWith('toolbox__'))).toBe(true);
      await expect(client.callTool({ name: 'everything__echo', arguments: { message: 'x' } })).rejects.toMatchObject({
        code: -32602,
      });
      const denied = await connect('/mcp/everything', { 'X-API-Key': key }).catch((e: unknown) => e);
      expect((denied as StreamableHTTPError).code).toBe(403);
    });

    it('refuses a foreign Host or Origin on a loopback bind (DNS rebinding)', async () => {
      const post = (headers: Record<string, string>) =>
        fetch(`${base}/mcp`, {
          method: 'POST',
          headers: {
            ...ADMIN_HEADERS,
            'content-type': 'application/json',
            accept: 'application/json, text/event-stream',
            ...headers,
          },
          body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
        });
      const origin = await post({ origin: 'http://evil.example' });
      expect(origin.status).toBe(403);
      expect(((await origin.json()) as { error: { details: { reason: string } } }).error.details.reason).toBe(
        'DNS_REBINDING_PROTECTION',
      );
      // fetch cannot set Host: a raw request can, as a rebinding browser would send it.
      const hostStatus = await new Promise<number>((resolve, reject) => {
        const req = request(
          `${base}/mcp`,
          { method: 'POST', headers: { ...ADMIN_HEADERS, host: 'evil.example', 'content-type': 'application/json' } },
          (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          },
        );
        req.on('error', reject);
        req.end(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }));
      });
      expect(hostStatus).toBe(403);
      expect((await post({ origin: 'http://localhost:3000' })).status).toBe(200);
    });

    it('refuses a session id presented by another principal (404)', async () => {
      const client = await connect('/mcp/toolbox');
      const transport = client.transport as StreamableHTTPClientTransport;
      const key = await createKey({ scopes: ['mcp:read'] });
      const res = await fetch(`${base}/mcp/toolbox`, {
        method: 'POST',
        headers: {
          'X-API-Key': key,
          'mcp-session-id': transport.sessionId!,
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
        },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
      });
      expect(res.status).toBe(404);
    });
  });

  describe('forwarding', () => {
    it('forwards progress and logging of a call to the client (toolbox and server-everything)', async () => {
      const client = await connect('/mcp');
      const logs: LoggingMessageNotification['params'][] = [];
      client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => {
        logs.push(n.params);
      });
      const progress: Progress[] = [];
      const result = (await client.callTool({ name: 'toolbox__progress', arguments: { steps: 3 } }, undefined, {
        onprogress: (p) => progress.push(p),
      })) as CallText;
      expect(result.content[0]?.text).toBe('done');
      expect(progress.map((p) => p.progress)).toEqual([1, 2, 3]);
      await waitFor(() => logs.some((l) => l.data === 'progress done'), 5_000, 'the log message');
      expect(logs.find((l) => l.data === 'progress done')?.logger).toBe('toolbox');

      const long: Progress[] = [];
      const done = (await client.callTool(
        { name: 'everything__trigger-long-running-operation', arguments: { duration: 0.3, steps: 3 } },
        undefined,
        { onprogress: (p) => long.push(p) },
      )) as CallText;
      expect(done.content[0]?.text).toContain('Long running operation completed');
      expect(long.map((p) => [p.progress, p.total])).toEqual([
        [1, 3],
        [2, 3],
        [3, 3],
      ]);
    });

    it('sends a client cancellation to the upstream', async () => {
      const client = await connect('/mcp/toolbox');
      const controller = new AbortController();
      const call = client.callTool({ name: 'hang', arguments: {} }, undefined, { signal: controller.signal });
      await waitFor(
        async () => {
          const res = await fetch(`${base}/api/servers/toolbox`, { headers: ADMIN_HEADERS });
          return ((await res.json()) as { metrics: { in_flight: number } }).metrics.in_flight > 0;
        },
        10_000,
        'the hang call in flight upstream',
      );
      controller.abort('user gave up');
      await expect(call).rejects.toThrow();
      await waitFor(
        async () => {
          const r = (await client.callTool({ name: 'cancellations', arguments: {} })) as CallText;
          return (JSON.parse(r.content[0]!.text!) as unknown[]).length > 0;
        },
        10_000,
        'the upstream to see the cancellation',
      );
    });

    it('routes sampling and elicitation requests of the upstream to the calling client, and the tool completes', async () => {
      const client = await connect('/mcp/everything', ADMIN_HEADERS, {
        capabilities: { sampling: {}, elicitation: {}, roots: { listChanged: true } },
      });
      client.setRequestHandler(CreateMessageRequestSchema, (request) => ({
        model: 'e2e-model',
        role: 'assistant',
        content: {
          type: 'text',
          text: `sampled: ${String((request.params.messages[0]?.content as { text?: string }).text)}`,
        },
      }));
      client.setRequestHandler(ElicitRequestSchema, () => ({ action: 'accept', content: { name: 'Ada Lovelace' } }));
      client.setRequestHandler(ListRootsRequestSchema, () => ({ roots: [{ uri: 'file:///work', name: 'work' }] }));

      const names = (await client.listTools()).tools.map((t) => t.name);
      expect(names).toEqual(expect.arrayContaining(['trigger-sampling-request', 'trigger-elicitation-request']));

      const sampled = (await client.callTool({
        name: 'trigger-sampling-request',
        arguments: { prompt: 'hello gateway', maxTokens: 10 },
      })) as CallText;
      expect(sampled.content[0]?.text).toContain('sampled: Resource trigger-sampling-request context: hello gateway');
      expect(sampled.content[0]?.text).toContain('e2e-model');

      const elicited = (await client.callTool({ name: 'trigger-elicitation-request', arguments: {} })) as CallText;
      const text = elicited.content.map((c) => c.text).join('\n');
      expect(text).toContain('Ada Lovelace');

      const roots = (await client.callTool({ name: 'get-roots-list', arguments: {} })) as CallText;
      expect(roots.content.map((c) => c.text).join('\n')).toMatch(/file:\/\/\/work|roots/i);
    });

    it('refuses a sampling request for a client that did not declare sampling (the tool reports it)', async () => {
      const client = await connect('/mcp/everything');
      const result = await client
        .callTool({ name: 'trigger-sampling-request', arguments: { prompt: 'x', maxTokens: 5 } })
        .then((r) => JSON.stringify(r))
        .catch((e: unknown) => String(e));
      expect(result).toMatch(/did not declare the 'sampling' capability/);
    });

    it('propagates list_changed of an upstream to connected clients', async () => {
      const client = await connect('/mcp');
      let changed = 0;
      client.setNotificationHandler(ToolListChangedNotificationSchema, () => {
        changed++;
      });
      // The SDK client opens the session's GET stream after initialize, at a moment of its choosing: a change made
      // before the stream is there reaches nobody, so change again until one arrives (bounded).
      let added = 0;
      await waitFor(
        async () => {
          if (changed > 0) return true;
          await client.callTool({ name: 'toolbox__add_tool', arguments: { name: `fresh${added++}` } });
          return false;
        },
        10_000,
        'tools/list_changed',
        300,
      );
      await waitFor(
        async () => (await client.listTools()).tools.some((t) => t.name === 'toolbox__fresh0'),
        10_000,
        'the new tool listed',
      );
    });
  });

  describe('completion, subscriptions, log level', () => {
    it('forwards completion/complete with the namespaced prompt name mapped back', async () => {
      const client = await connect('/mcp');
      const result = await client.complete({
        ref: { type: 'ref/prompt', name: 'everything__completable-prompt' },
        argument: { name: 'department', value: 'Eng' },
      });
      expect(result.completion.values).toEqual(['Engineering']);
    });

    it('subscribes to a resource upstream and delivers notifications/resources/updated to the subscribed session', async () => {
      const client = await connect('/mcp/everything');
      const updated: string[] = [];
      client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => {
        updated.push(n.params.uri);
      });
      const uri = (await client.listResources()).resources[0]!.uri;
      await client.subscribeResource({ uri });
      // Updates repeat every 5 s while on: one missed before the client's GET stream is open is followed by another.
      await client.callTool({ name: 'toggle-subscriber-updates', arguments: {} });
      try {
        await waitFor(() => updated.includes(uri), 10_000, 'notifications/resources/updated');
      } finally {
        await client.callTool({ name: 'toggle-subscriber-updates', arguments: {} });
        await client.unsubscribeResource({ uri });
      }
    });

    it('accepts logging/setLevel and still forwards messages at or above it', async () => {
      const client = await connect('/mcp/toolbox');
      const logs: unknown[] = [];
      client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => {
        logs.push(n.params.data);
      });
      await client.setLoggingLevel('info');
      await client.callTool({ name: 'progress', arguments: { steps: 1 } });
      await waitFor(() => logs.includes('progress done'), 5_000, 'the info log message');
    });
  });

  describe('sessions', () => {
    it('ends a session with DELETE; the id is then unknown (404)', async () => {
      const client = await connect('/mcp/toolbox');
      const transport = client.transport as StreamableHTTPClientTransport;
      const id = transport.sessionId!;
      expect(id).toMatch(/^[0-9a-f-]{36}$/);
      await transport.terminateSession();
      const res = await fetch(`${base}/mcp/toolbox`, {
        method: 'POST',
        headers: {
          ...ADMIN_HEADERS,
          'mcp-session-id': id,
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
        },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
      });
      expect(res.status).toBe(404);
    });

    it('meters live sessions, front-door requests, and calls like REST', async () => {
      const client = await connect('/mcp/toolbox');
      await client.callTool({ name: 'echo', arguments: { message: 'metered' } });
      const text = await (
        await fetch(`${gateway.addresses.management}/actuator/prometheus`, { headers: ADMIN_HEADERS })
      ).text();
      const live = /^mcp_endpoint_sessions (\d+)/m.exec(text)?.[1];
      expect(Number(live)).toBeGreaterThan(0);
      expect(text).toMatch(/mcp_endpoint_requests_total\{method="tools\/call"\} \d+/);
      // Measured like REST: the HTTP timer by route template, and the upstream call by server and method.
      expect(text).toMatch(/http_server_requests_seconds_count\{[^}]*uri="\/mcp\/\{serverId\}"[^}]*\} \d+/);
      expect(text).toMatch(/mcp_client_requests_total\{[^}]*server="toolbox"[^}]*method="tools\/call"[^}]*\} \d+/);
    });
  });

  describe('legacy HTTP+SSE', () => {
    it('lists and calls through /sse + /messages', async () => {
      const client = new Client({ name: 'legacy', version: '1.0.0' });
      clients.push(client);
      await client.connect(
        new SSEClientTransport(new URL(`${base}/sse`), {
          requestInit: { headers: ADMIN_HEADERS },
          eventSourceInit: {
            fetch: (url, init) =>
              fetch(url, { ...init, headers: { ...(init?.headers as Record<string, string>), ...ADMIN_HEADERS } }),
          },
        }),
      );
      const names = (await client.listTools()).tools.map((t) => t.name);
      expect(names).toContain('toolbox__echo');
      const result = (await client.callTool({ name: 'toolbox__echo', arguments: { message: 'old' } })) as CallText;
      expect(result.content[0]?.text).toBe('Echo: old');
    });

    it('routes a sampling request of the upstream to a legacy client, and progress comes back on its stream', async () => {
      const client = new Client({ name: 'legacy-sampling', version: '1.0.0' }, { capabilities: { sampling: {} } });
      clients.push(client);
      client.setRequestHandler(CreateMessageRequestSchema, () => ({
        model: 'legacy-model',
        role: 'assistant',
        content: { type: 'text', text: 'legacy answer' },
      }));
      await client.connect(
        new SSEClientTransport(new URL(`${base}/sse`), {
          requestInit: { headers: ADMIN_HEADERS },
          eventSourceInit: {
            fetch: (url, init) =>
              fetch(url, { ...init, headers: { ...(init?.headers as Record<string, string>), ...ADMIN_HEADERS } }),
          },
        }),
      );
      const sampled = (await client.callTool({
        name: 'everything__trigger-sampling-request',
        arguments: { prompt: 'old client', maxTokens: 5 },
      })) as CallText;
      expect(sampled.content[0]?.text).toContain('legacy answer');
      const progress: Progress[] = [];
      await client.callTool({ name: 'toolbox__progress', arguments: { steps: 2 } }, undefined, {
        onprogress: (p) => progress.push(p),
      });
      expect(progress.map((p) => p.progress)).toEqual([1, 2]);
    });
  });
});
