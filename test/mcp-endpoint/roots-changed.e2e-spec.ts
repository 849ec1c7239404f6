import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ADMIN_HEADERS } from '../support/auth';
import { REPO } from '../support/paths';
import { createTestDatabase, type TestDatabase } from '../support/test-database';
import { startTestGateway, type TestGateway } from '../support/test-gateway';
import { waitFor } from '../support/wait';

const ROOTS_LISTENER = path.join(REPO, 'test', 'fixtures', 'servers', 'roots-listener.js');

interface Count {
  pid: number;
  roots_changed: number;
}

/**
 * A client's `notifications/roots/list_changed` reaches every pooled session of the upstream (each may have asked
 * for the roots and cached them), not just one: a stdio upstream with `pool-size: 2`, two processes.
 */
describe('MCP front door: roots/list_changed to every pooled upstream session', () => {
  let db: TestDatabase;
  let gateway: TestGateway;
  let client: Client | undefined;

  beforeAll(async () => {
    db = await createTestDatabase('mcp_roots_changed');
    gateway = await startTestGateway({
      databaseUrl: db.url,
      yaml: `mcp:
  servers:
    roots:
      type: stdio
      command: node
      args: ["${ROOTS_LISTENER}"]
      pool-size: 2
`,
    });
    await waitFor(
      async () => {
        const res = await fetch(`${gateway.addresses.api}/api/tools?server_id=roots`, { headers: ADMIN_HEADERS });
        return res.ok && ((await res.json()) as { total_count: number }).total_count > 0;
      },
      20_000,
      'the roots-listener tools listed',
    );
  }, 60_000);

  afterAll(async () => {
    await client?.close();
    await gateway?.stop();
    await db?.drop();
  });

  /** Two overlapping REST calls: the least-busy placement puts them on the two pooled sessions. */
  async function countsOfBothSessions(): Promise<Count[]> {
    for (let attempt = 0; attempt < 10; attempt++) {
      const answers = await Promise.all(
        [0, 1].map(async () => {
          const res = await fetch(`${gateway.addresses.api}/api/servers/roots/tools/roots_changed`, {
            method: 'POST',
            headers: { ...ADMIN_HEADERS, 'content-type': 'application/json' },
            body: JSON.stringify({ delay_ms: 300 }),
          });
          const body = (await res.json()) as { result: { content: { text: string }[] } };
          return JSON.parse(body.result.content[0]!.text) as Count;
        }),
      );
      if (answers[0]!.pid !== answers[1]!.pid) return answers;
    }
    throw new Error('two overlapping calls never reached the two pooled sessions');
  }

  it('notifies both upstream processes once', async () => {
    const before = await countsOfBothSessions();
    expect(before.map((c) => c.roots_changed)).toEqual([0, 0]);
    client = new Client({ name: 'roots-client', version: '1.0.0' }, { capabilities: { roots: { listChanged: true } } });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`${gateway.addresses.api}/mcp/roots`), {
        requestInit: { headers: ADMIN_HEADERS },
      }),
    );
    await client.sendRootsListChanged();
    let after: Count[] = [];
    await waitFor(
      async () => {
        after = await countsOfBothSessions();
        return after.every((c) => c.roots_changed > 0);
      },
      10_000,
      'roots/list_changed to reach both upstream sessions',
    );
    expect(after.map((c) => c.roots_changed)).toEqual([1, 1]);
  });
});
