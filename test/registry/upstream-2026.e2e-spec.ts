import { Client as ModernClient, StreamableHTTPClientTransport as ModernTransport } from '@modelcontextprotocol/client';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  CreateMessageRequestSchema,
  ElicitRequestSchema,
  ListRootsRequestSchema,
  LoggingMessageNotificationSchema,
  ResourceUpdatedNotificationSchema,
} from '@modelcontextprotocol/sdk/types.js';
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { ADMIN_HEADERS } from '../support/auth';
import { EVERYTHING, REPO } from '../support/paths';
import { freePort } from '../support/ports';
import { createTestDatabase, type TestDatabase } from '../support/test-database';
import { startTestGateway, type TestGateway } from '../support/test-gateway';
import { waitFor } from '../support/wait';
import { textOf } from '../mcp-endpoint/upstreams';

const MODERN = path.join(REPO, 'test/fixtures/servers/modern-upstream.js');
const REVISION = '2026-07-28';
const NAME = { action: 'accept', content: { name: 'Ada' } };
const SAMPLED = { role: 'assistant', content: { type: 'text', text: 'forty-two' }, model: 'e2e-model' };
const ROOTS = { roots: [{ uri: 'file:///e2e/root', name: 'root' }] };

/** Starts the 2026-07-28 fixture on `port` and resolves once it listens. */
async function startModern(port: number): Promise<ChildProcess> {
  const child = spawn(process.execPath, [MODERN, String(port)], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`modern-upstream exited (${code})`)));
    child.stdout!.on('data', (d: Buffer) => {
      if (String(d).includes('listening')) resolve();
    });
  });
  return child;
}

async function stopChild(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

/**
 * The upstream side of MCP 2026-07-28 (issue #13 items 8 and 4b, ADR 0012): the gateway in front of a 2026-07-28-only
 * upstream over Streamable HTTP (SDK 2 `createMcpHandler`, refusing every 2025 request) and of a 2025 one
 * (server-everything over Streamable HTTP). Real processes, real clients of both SDK generations.
 */
describe('a 2026-07-28 upstream behind the gateway', () => {
  let db: TestDatabase;
  let gateway: TestGateway;
  let api: string;
  let modernPort: number;
  let modern: ChildProcess | undefined;
  let legacy: ChildProcess | undefined;

  const get = async (p: string) => {
    const res = await fetch(`${api}${p}`, { headers: ADMIN_HEADERS });
    return { status: res.status, body: (await res.json()) as any };
  };
  const post = async (p: string, body: unknown) => {
    const res = await fetch(`${api}${p}`, {
      method: 'POST',
      headers: { ...ADMIN_HEADERS, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as any };
  };
  const stats = async () => {
    const res = await post('/api/servers/modern/tools/stats', {});
    return JSON.parse(res.body.result.content[0].text as string) as {
      requests: number;
      withSessionId: number;
      methods: Record<string, number>;
      retries: number;
      protocolHeaders: string[];
    };
  };
  /** An SDK 1 (2025) client session at /mcp/modern that answers elicitation, sampling and roots. */
  const legacyClient = async (capabilities = { elicitation: {}, sampling: {}, roots: {} }) => {
    const client = new Client({ name: 'e2e-2025', version: '1.0.0' }, { capabilities });
    if ('elicitation' in capabilities) client.setRequestHandler(ElicitRequestSchema, () => NAME as never);
    if ('sampling' in capabilities) client.setRequestHandler(CreateMessageRequestSchema, () => SAMPLED as never);
    if ('roots' in capabilities) client.setRequestHandler(ListRootsRequestSchema, () => ROOTS);
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`${api}/mcp/modern`), { requestInit: { headers: ADMIN_HEADERS } }),
    );
    return client;
  };

  beforeAll(async () => {
    modernPort = await freePort();
    modern = await startModern(modernPort);
    const legacyPort = await freePort();
    legacy = spawn(process.execPath, [EVERYTHING, 'streamableHttp'], {
      env: { PATH: process.env.PATH, PORT: String(legacyPort) },
      stdio: 'ignore',
    });
    // Any HTTP answer means it listens (a GET without a session is refused, which is fine here).
    await waitFor(
      () => fetch(`http://127.0.0.1:${legacyPort}/mcp`).then(() => true),
      20_000,
      'server-everything over Streamable HTTP',
    );
    db = await createTestDatabase('upstream_2026');
    gateway = await startTestGateway({
      databaseUrl: db.url,
      yaml:
        `mcp:\n  client:\n    default-timeout: 10000\n    retry:\n      initial-interval: 500\n      max-interval: 2000\n` +
        `  servers:\n    modern:\n      type: http\n      url: http://127.0.0.1:${modernPort}/mcp\n` +
        `    legacy-http:\n      type: http\n      url: http://127.0.0.1:${legacyPort}/mcp\n`,
    });
    api = gateway.addresses.api;
    await waitFor(
      async () => {
        const { body } = await get('/api/tools');
        const ids = new Set((body.tools as { server_id: string }[]).map((t) => t.server_id));
        return ids.has('modern') && ids.has('legacy-http');
      },
      30_000,
      'the tools of both upstreams',
    );
  }, 90_000);

  afterAll(async () => {
    await gateway?.stop();
    await db?.drop();
    await stopChild(modern);
    await stopChild(legacy);
  });

  it('records the revision each upstream negotiated: 2026-07-28 by server/discover, 2025 by initialize', async () => {
    const modernServer = await get('/api/servers/modern');
    expect(modernServer.status).toBe(200);
    expect(modernServer.body.capabilities.protocol_version).toBe(REVISION);
    expect(modernServer.body.capabilities.server_info).toEqual({ name: 'modern-upstream', version: '2.0.0' });
    const legacyServer = await get('/api/servers/legacy-http');
    expect(legacyServer.body.capabilities.protocol_version).toMatch(/^2025-/);
    const list = await get('/api/servers');
    const revisions = Object.fromEntries(
      (list.body.servers as { id: string; protocol_version: string | null }[]).map((x) => [x.id, x.protocol_version]),
    );
    expect(revisions.modern).toBe(REVISION);
    expect(revisions['legacy-http']).toMatch(/^2025-/);
    const info = await get('/api/servers/modern/info');
    expect(info.body.protocol_version).toBe(REVISION);
    const health = await get('/api/servers/modern/health');
    expect(health.body.checks.find((c: { name: string }) => c.name === 'connectivity').status).toBe('UP');
  });

  it('serves REST callers as before: tools, resources, prompts; no request carries a session id', async () => {
    const echo = await post('/api/servers/modern/tools/echo', { text: 'hi there' });
    expect(echo.status).toBe(200);
    expect(echo.body.result.content[0].text).toBe('hi there');
    // What REST callers get back is the result, without the revision's serverInfo stamp.
    expect(JSON.stringify(echo.body.result)).not.toContain('io.modelcontextprotocol/serverInfo');
    const read = await get(`/api/resources/content?uri=${encodeURIComponent('modern://hello')}&server_id=modern`);
    expect(read.status).toBe(200);
    expect(JSON.stringify(read.body)).toContain('contents of modern://hello');
    const prompt = await post('/api/prompts/greet/get', { server_id: 'modern', arguments: { name: 'Bo' } });
    expect(prompt.status).toBe(200);
    expect(JSON.stringify(prompt.body)).toContain('Greet Bo');
    const unknown = await post('/api/servers/modern/tools/echo', {});
    expect(unknown.status).toBe(400);
    const seen = await stats();
    expect(seen.requests).toBeGreaterThan(3);
    expect(seen.withSessionId).toBe(0);
    expect(seen.protocolHeaders).toEqual([REVISION]);
    expect(seen.methods['server/discover']).toBeGreaterThanOrEqual(1);
    expect(seen.methods.initialize).toBeUndefined();
  });

  it('refuses REST callers a tool that needs client input, cleanly (there is no client to ask)', async () => {
    const res = await post('/api/servers/modern/tools/ask_name', {});
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).not.toBe(500);
    expect(res.body.error.code).toEqual(expect.any(String));
    expect(res.body.error.message).toMatch(/elicitation|capabilit/i);
  });

  it("turns the upstream's input_required into a 2025 session's requests and retries with its answers", async () => {
    const before = (await stats()).retries;
    const client = await legacyClient();
    try {
      expect(textOf(await client.callTool({ name: 'ask_name', arguments: {} }))).toBe('hello Ada');
      expect(textOf(await client.callTool({ name: 'sample', arguments: {} }))).toBe('sampled: forty-two');
      expect(textOf(await client.callTool({ name: 'roots', arguments: {} }))).toBe('roots: file:///e2e/root');
      // Two rounds: an elicitation and a sampling at once, then the roots, with the requestState carried across.
      expect(textOf(await client.callTool({ name: 'both', arguments: {} }))).toBe(
        'hello Ada, sampled: forty-two | roots: file:///e2e/root',
      );
    } finally {
      await client.close();
    }
    // The upstream saw the retries carrying the answers (5 retries at least: one per round above).
    expect((await stats()).retries - before).toBeGreaterThanOrEqual(5);
  });

  it('does not ask a 2025 client what it did not declare: the call fails with the refusal', async () => {
    const client = await legacyClient({ roots: {} } as never);
    try {
      const result = await client.callTool({ name: 'ask_name', arguments: {} }).then(
        (r) => ({ ok: r.isError !== true, text: textOf(r) }),
        (e: Error) => ({ ok: false, text: e.message }),
      );
      expect(result.ok).toBe(false);
      // The upstream refused before asking: the call carried this session's capabilities (roots only), not all three.
      expect(result.text).toMatch(/Cannot request input 'name' \(elicitation\/create\)/);
      // Its roots are still asked for: it declared them.
      expect(textOf(await client.callTool({ name: 'roots', arguments: {} }))).toBe('roots: file:///e2e/root');
    } finally {
      await client.close();
    }
  });

  it('carries progress and log messages of a 2026 upstream to a 2025 session', async () => {
    const client = await legacyClient();
    const logs: string[] = [];
    client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => {
      logs.push(String(n.params.data));
    });
    const progress: number[] = [];
    try {
      await client.setLoggingLevel('debug');
      const done = await client.callTool({ name: 'slow', arguments: { steps: 3 } }, undefined, {
        onprogress: (p) => progress.push(p.progress),
      });
      expect(textOf(done)).toBe('done');
      expect(progress).toEqual([1, 2, 3]);
      await waitFor(() => logs.length >= 3, 5_000, 'the three log messages');
      expect(logs).toEqual(expect.arrayContaining(['step 1 of 3', 'step 3 of 3']));
    } finally {
      await client.close();
    }
  });

  it('shares the one pooled member between sessions: a question pending for one holds nobody else up', async () => {
    let answerA!: () => void;
    const held = new Promise<void>((resolve) => (answerA = resolve));
    const a = new Client({ name: 'e2e-a', version: '1.0.0' }, { capabilities: { elicitation: {} } });
    a.setRequestHandler(ElicitRequestSchema, async () => {
      await held;
      return { action: 'accept', content: { name: 'Ann' } };
    });
    await a.connect(
      new StreamableHTTPClientTransport(new URL(`${api}/mcp/modern`), { requestInit: { headers: ADMIN_HEADERS } }),
    );
    const b = await legacyClient();
    const logsOf = (client: Client) => {
      const logs: string[] = [];
      client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => {
        logs.push(String(n.params.data));
      });
      return logs;
    };
    try {
      const asked = a.callTool({ name: 'ask_name', arguments: {} });
      // B's call runs on the same member (pool size 1) while A's question waits for A's client.
      expect(textOf(await b.callTool({ name: 'ask_name', arguments: {} }))).toBe('hello Ada');
      answerA();
      expect(textOf(await asked)).toBe('hello Ann');
      // Log messages of concurrent calls on that member reach each one's own session.
      const [logsA, logsB] = [logsOf(a), logsOf(b)];
      await Promise.all([a.setLoggingLevel('debug'), b.setLoggingLevel('debug')]);
      await Promise.all([
        a.callTool({ name: 'slow', arguments: { steps: 2 } }),
        b.callTool({ name: 'slow', arguments: { steps: 4 } }),
      ]);
      await waitFor(() => logsA.length >= 2 && logsB.length >= 4, 5_000, 'the log messages of both calls');
      expect(logsA).toEqual(['step 1 of 2', 'step 2 of 2']);
      expect(logsB).toEqual(['step 1 of 4', 'step 2 of 4', 'step 3 of 4', 'step 4 of 4']);
    } finally {
      answerA();
      await a.close();
      await b.close();
    }
  });

  it('serves a 2026-07-28 client in front of the 2026-07-28 upstream: input_required both ways', async () => {
    const client = new ModernClient(
      { name: 'e2e-2026', version: '1.0.0' },
      {
        versionNegotiation: { mode: { pin: REVISION } },
        capabilities: { elicitation: {}, sampling: {}, roots: {} },
      },
    );
    client.setRequestHandler('elicitation/create', () => NAME as never);
    client.setRequestHandler('sampling/createMessage', () => SAMPLED as never);
    client.setRequestHandler('roots/list', () => ROOTS as never);
    await client.connect(
      new ModernTransport(new URL(`${api}/mcp/modern`), { requestInit: { headers: ADMIN_HEADERS } }),
    );
    try {
      expect(textOf(await client.callTool({ name: 'ask_name', arguments: {} }))).toBe('hello Ada');
      expect(textOf(await client.callTool({ name: 'both', arguments: {} }))).toBe(
        'hello Ada, sampled: forty-two | roots: file:///e2e/root',
      );
      const read = await client.readResource({ uri: 'modern://item/7' });
      expect(JSON.stringify(read.contents)).toContain('contents of modern://item/7');
    } finally {
      await client.close();
    }
  });

  it("hears the upstream's list changes on its subscriptions/listen stream", async () => {
    const added = await post('/api/servers/modern/tools/add_tool', { name: 'late_tool' });
    expect(added.status).toBe(200);
    await waitFor(
      async () => (await get('/api/tools?server_id=modern')).body.tools.some((t: any) => t.name === 'late_tool'),
      10_000,
      'the added tool in the catalog',
    );
    expect((await stats()).methods['subscriptions/listen']).toBeGreaterThanOrEqual(1);
  });

  it("subscribes a 2025 session to a 2026 upstream's resource (a listen stream per URI) and tells it of updates", async () => {
    const client = await legacyClient();
    const updated: string[] = [];
    client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => {
      updated.push(n.params.uri);
    });
    try {
      await client.subscribeResource({ uri: 'modern://hello' });
      const listens = (await stats()).methods['subscriptions/listen'] ?? 0;
      expect(listens).toBeGreaterThanOrEqual(2);
      await waitFor(
        async () => {
          await post('/api/servers/modern/tools/touch', { uri: 'modern://hello' });
          return updated.includes('modern://hello');
        },
        10_000,
        'the resource update at the session',
      );
    } finally {
      await client.close();
    }
  });

  it('recovers when the upstream goes away and comes back (the supervisor reconnects)', async () => {
    const lines: string[] = [];
    modern!.stdout!.on('data', (d: Buffer) => lines.push(...String(d).split('\n')));
    modern!.kill('SIGUSR2');
    await waitFor(() => lines.includes('down'), 10_000, 'the upstream down');
    await waitFor(async () => (await get('/api/servers/modern')).body.status !== 'active', 15_000, 'modern not active');
    const down = await post('/api/servers/modern/tools/echo', { text: 'nobody' });
    expect(down.status).toBe(503);
    modern!.kill('SIGHUP');
    await waitFor(async () => (await get('/api/servers/modern')).body.status === 'active', 20_000, 'modern active');
    const echo = await post('/api/servers/modern/tools/echo', { text: 'back' });
    expect(echo.status).toBe(200);
    expect(echo.body.result.content[0].text).toBe('back');
    expect((await get('/api/servers/modern')).body.capabilities.protocol_version).toBe(REVISION);
    expect((await stats()).withSessionId).toBe(0);
  });
});
