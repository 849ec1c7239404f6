import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ADMIN_HEADERS } from '../support/auth';
import { TOOLBOX } from '../support/paths';
import { createTestDatabase, type TestDatabase } from '../support/test-database';
import { startTestGateway, type TestGateway } from '../support/test-gateway';
import { waitFor } from '../support/wait';
import { placementWaits, textOf } from './upstreams';

/**
 * With `mcp.endpoint.forward-client-capabilities: false` the gateway announces no sampling, elicitation or roots to
 * upstreams, so no upstream can ask a client anything: a session that declared them needs no connection of its own,
 * and its calls share the pool with everybody's (one stdio toolbox, `pool-size: 1`).
 */
describe('MCP front door: sessions whose client capabilities are not forwarded share pooled connections', () => {
  let db: TestDatabase;
  let gateway: TestGateway;
  let base: string;
  const clients: Client[] = [];

  beforeAll(async () => {
    db = await createTestDatabase('mcp_placement_no_forwarding');
    gateway = await startTestGateway({
      databaseUrl: db.url,
      yaml: `mcp:
  endpoint:
    forward-client-capabilities: false
  client:
    default-timeout: 8000
  servers:
    toolbox:
      type: stdio
      command: node
      args: ["${TOOLBOX}"]
      pool-size: 1
`,
    });
    base = gateway.addresses.api;
    await waitFor(
      async () => {
        const res = await fetch(`${base}/api/tools`, { headers: ADMIN_HEADERS });
        const body = (await res.json()) as { tools: { name: string }[] };
        return body.tools.some((t) => t.name === 'hang');
      },
      20_000,
      'the toolbox tools listed',
    );
  }, 60_000);

  afterAll(async () => {
    await Promise.allSettled(clients.map((c) => c.close()));
    await gateway?.stop();
    await db?.drop();
  });

  async function connect(name: string): Promise<Client> {
    const client = new Client(
      { name, version: '1.0.0' },
      { capabilities: { sampling: {}, elicitation: {}, roots: {} } },
    );
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`${base}/mcp/toolbox`), { requestInit: { headers: ADMIN_HEADERS } }),
    );
    clients.push(client);
    return client;
  }

  const waits = () => placementWaits(gateway.addresses.management, 'toolbox', ADMIN_HEADERS);

  async function inFlight(): Promise<number> {
    const res = await fetch(`${base}/api/servers/toolbox`, { headers: ADMIN_HEADERS });
    return ((await res.json()) as { metrics: { in_flight: number } }).metrics.in_flight;
  }

  it("runs a session's call and a REST call beside another session's call on a pool of one, without waiting", async () => {
    const alice = await connect('alice');
    const bob = await connect('bob');
    const before = await waits();
    const stop = new AbortController();
    // alice's call holds the one connection until it is cancelled.
    const hanging = alice.callTool({ name: 'hang', arguments: {} }, undefined, { signal: stop.signal });
    hanging.catch(() => undefined); // awaited below; handled if the test fails before
    await waitFor(async () => (await inFlight()) === 1, 10_000, "alice's call in flight");

    const echoed = await bob.callTool({ name: 'echo', arguments: { message: 'beside alice' } });
    expect(textOf(echoed)).toContain('beside alice');
    const rest = await fetch(`${base}/api/servers/toolbox/tools/echo`, {
      method: 'POST',
      headers: { ...ADMIN_HEADERS, 'content-type': 'application/json' },
      body: JSON.stringify({ message: 'rest beside alice' }),
    });
    expect(rest.status).toBe(200);
    expect(JSON.stringify(await rest.json())).toContain('rest beside alice');
    // Neither waited: alice's call was still in flight all along.
    expect(await waits()).toBe(before);
    expect(await inFlight()).toBe(1);

    stop.abort();
    await expect(hanging).rejects.toThrow();
  }, 30_000);
});
