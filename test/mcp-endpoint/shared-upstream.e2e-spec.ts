import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { CreateMessageRequestSchema, ElicitRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { ADMIN_HEADERS } from '../support/auth';
import { EVERYTHING } from '../support/paths';
import { createTestDatabase, type TestDatabase } from '../support/test-database';
import { startTestGateway, type TestGateway } from '../support/test-gateway';
import { waitFor } from '../support/wait';
import { placementWaits, textOf } from './upstreams';

/**
 * Several client sessions and REST on ONE upstream connection (server-everything over stdio, `pool-size: 1`): each
 * sampling/elicitation request of the upstream reaches the session whose call caused it, never another one.
 */
describe('MCP front door: server-to-client requests with several callers of one pooled upstream', () => {
  let db: TestDatabase;
  let gateway: TestGateway;
  let base: string;
  const clients: Client[] = [];

  beforeAll(async () => {
    db = await createTestDatabase('mcp_shared_upstream');
    gateway = await startTestGateway({
      databaseUrl: db.url,
      yaml: `mcp:
  client:
    default-timeout: 20000
  servers:
    sampler:
      type: stdio
      command: node
      args: ["${EVERYTHING}", stdio]
      pool-size: 1
`,
    });
    base = gateway.addresses.api;
    await waitFor(
      async () => {
        const res = await fetch(`${base}/api/tools`, { headers: ADMIN_HEADERS });
        const body = (await res.json()) as { tools: { name: string }[] };
        return body.tools.some((t) => t.name === 'trigger-sampling-request');
      },
      20_000,
      'the sampling tool listed',
    );
  }, 60_000);

  afterAll(async () => {
    await Promise.allSettled(clients.map((c) => c.close()));
    await gateway?.stop();
    await db?.drop();
  });

  async function connect(name: string): Promise<Client> {
    const client = new Client({ name, version: '1.0.0' }, { capabilities: { sampling: {}, elicitation: {} } });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`${base}/mcp/sampler`), { requestInit: { headers: ADMIN_HEADERS } }),
    );
    clients.push(client);
    return client;
  }

  const waits = () => placementWaits(gateway.addresses.management, 'sampler', ADMIN_HEADERS);

  /** Resolves once one more call than `before` has waited: the other caller's call is queued behind this one. */
  const anotherCallWaits = (before: number) =>
    waitFor(async () => (await waits()) > before, 15_000, 'the other call to wait for the connection');

  /** A sampling answer naming who gave it. */
  const answer = (who: string) => ({
    model: `model-of-${who}`,
    role: 'assistant' as const,
    content: { type: 'text' as const, text: `answer from ${who}` },
  });

  it('answers each session sampling request with its own client, concurrently, on a pool of one', async () => {
    const alice = await connect('alice');
    const bob = await connect('bob');
    const asked = { alice: 0, bob: 0 };
    const before = await waits();
    let aliceAsked!: () => void;
    const aliceInSampling = new Promise<void>((resolve) => (aliceAsked = resolve));
    alice.setRequestHandler(CreateMessageRequestSchema, async () => {
      asked.alice++;
      aliceAsked();
      // Hold alice's call (and so the connection) until bob's call is in the gateway, waiting for it.
      await anotherCallWaits(before);
      return answer('alice');
    });
    bob.setRequestHandler(CreateMessageRequestSchema, () => {
      asked.bob++;
      return answer('bob');
    });

    const aliceCall = alice.callTool({ name: 'trigger-sampling-request', arguments: { prompt: 'a', maxTokens: 5 } });
    await aliceInSampling;
    const bobCall = bob.callTool({ name: 'trigger-sampling-request', arguments: { prompt: 'b', maxTokens: 5 } });
    const [aliceResult, bobResult] = await Promise.all([aliceCall, bobCall]);

    expect((aliceResult as { isError?: boolean }).isError).toBeFalsy();
    expect((bobResult as { isError?: boolean }).isError).toBeFalsy();
    expect(textOf(aliceResult)).toContain('answer from alice');
    expect(textOf(aliceResult)).not.toContain('answer from bob');
    expect(textOf(bobResult)).toContain('answer from bob');
    expect(textOf(bobResult)).not.toContain('answer from alice');
    expect(asked).toEqual({ alice: 1, bob: 1 });
  });

  it('answers each session elicitation request with its own client, concurrently, on a pool of one', async () => {
    const carol = await connect('carol');
    const dave = await connect('dave');
    const asked = { carol: 0, dave: 0 };
    const before = await waits();
    let carolAsked!: () => void;
    const carolInElicitation = new Promise<void>((resolve) => (carolAsked = resolve));
    carol.setRequestHandler(ElicitRequestSchema, async () => {
      asked.carol++;
      carolAsked();
      await anotherCallWaits(before);
      return { action: 'accept', content: { name: 'Carol Shaw' } };
    });
    dave.setRequestHandler(ElicitRequestSchema, () => {
      asked.dave++;
      return { action: 'accept', content: { name: 'Dave Cutler' } };
    });

    const carolCall = carol.callTool({ name: 'trigger-elicitation-request', arguments: {} });
    await carolInElicitation;
    const daveCall = dave.callTool({ name: 'trigger-elicitation-request', arguments: {} });
    const [carolResult, daveResult] = await Promise.all([carolCall, daveCall]);

    expect(textOf(carolResult)).toContain('Carol Shaw');
    expect(textOf(carolResult)).not.toContain('Dave Cutler');
    expect(textOf(daveResult)).toContain('Dave Cutler');
    expect(textOf(daveResult)).not.toContain('Carol Shaw');
    expect(asked).toEqual({ carol: 1, dave: 1 });
  });

  it('never sends the sampling request of a REST call to a session calling at the same time', async () => {
    const erin = await connect('erin');
    let asked = 0;
    const before = await waits();
    let erinAsked!: () => void;
    const erinInSampling = new Promise<void>((resolve) => (erinAsked = resolve));
    erin.setRequestHandler(CreateMessageRequestSchema, async () => {
      asked++;
      erinAsked();
      // Hold erin's call until the REST call waits for the connection behind it.
      await anotherCallWaits(before);
      return answer('erin');
    });

    const erinCall = erin.callTool({ name: 'trigger-sampling-request', arguments: { prompt: 'e', maxTokens: 5 } });
    await erinInSampling;
    const restCall = fetch(`${base}/api/tools/trigger-sampling-request/execute`, {
      method: 'POST',
      headers: { ...ADMIN_HEADERS, 'content-type': 'application/json' },
      body: JSON.stringify({ server_id: 'sampler', parameters: { prompt: 'from REST', maxTokens: 5 } }),
    });
    const [erinResult, rest] = await Promise.all([erinCall, restCall]);

    expect(textOf(erinResult)).toContain('answer from erin');
    // The REST call completes: nobody can answer its sampling request, which the upstream reports.
    const body = JSON.stringify(await rest.json());
    expect(rest.status).toBeLessThan(500);
    expect(body).toMatch(/no client to ask/);
    expect(body).not.toContain('answer from erin');
    expect(asked).toBe(1);
  });
});
