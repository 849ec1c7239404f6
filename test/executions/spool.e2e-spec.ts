import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { ADMIN_HEADERS } from '../support/auth';
import { spawnGateway, type SpawnedGateway } from '../support/child-gateway';
import { EVERYTHING } from '../support/paths';
import { freePort } from '../support/ports';
import { isAlive } from '../support/processes';
import { createTestDatabase, type TestDatabase } from '../support/test-database';
import { waitFor } from '../support/wait';

/**
 * A loopback TCP hop in front of the shared PostgreSQL that the test can cut and restore: "the database goes away"
 * for one gateway without stopping the server every other test file uses. Cutting it ends every open connection
 * and refuses new ones, as a stopped or unreachable server does.
 */
async function databaseLink(target: URL): Promise<{ url: string; cut(): Promise<void>; restore(): Promise<void> }> {
  const port = await freePort();
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  const open = () =>
    new Promise<void>((resolve) => {
      server = createServer((client) => {
        const upstream = connect(Number(target.port), target.hostname);
        for (const s of [client, upstream]) {
          sockets.add(s);
          s.on('close', () => sockets.delete(s));
          s.on('error', () => s.destroy());
        }
        client.pipe(upstream).pipe(client);
      });
      server.listen(port, '127.0.0.1', () => resolve());
    });
  await open();
  const url = new URL(target.toString());
  url.port = String(port);
  url.hostname = '127.0.0.1';
  return {
    url: url.toString(),
    cut: async () => {
      const closed = new Promise<void>((resolve) => server!.close(() => resolve()));
      for (const s of sockets) s.destroy();
      await closed;
    },
    restore: open,
  };
}

describe('executions while PostgreSQL is away: the spool under the data dir', () => {
  let db: TestDatabase;
  let link: Awaited<ReturnType<typeof databaseLink>>;
  let dataDir: string;
  const gateways: SpawnedGateway[] = [];
  const yaml = `mcp:\n  servers:\n    everything:\n      type: stdio\n      command: node\n      args: ["${EVERYTHING}", stdio]\n`;
  const start = async () => {
    const gateway = await spawnGateway({
      databaseUrl: link.url,
      yaml,
      env: { GLOBALMCP_DATA_DIR: dataDir },
      readyWhen: async (g) => {
        const res = await fetch(`${g.api}/api/tools?server_id=everything`, { headers: ADMIN_HEADERS });
        return res.status === 200 && ((await res.json()) as { total_count: number }).total_count > 0;
      },
    });
    gateways.push(gateway);
    return gateway;
  };
  const echo = async (gateway: SpawnedGateway, message: string) => {
    const res = await fetch(`${gateway.api}/api/servers/everything/tools/echo`, {
      method: 'POST',
      headers: { ...ADMIN_HEADERS, 'content-type': 'application/json' },
      body: JSON.stringify({ message }),
    });
    return { status: res.status, body: (await res.json()) as { execution_id: string; result: unknown } };
  };
  const recorded = async (ids: string[]) => {
    const client = new Client({ connectionString: db.url });
    await client.connect();
    try {
      const { rows } = await client.query<{ id: string; status: string }>(
        'SELECT id, status FROM executions WHERE id = ANY($1::uuid[])',
        [ids],
      );
      return rows;
    } finally {
      await client.end();
    }
  };

  beforeAll(async () => {
    db = await createTestDatabase('exec-spool');
    link = await databaseLink(new URL(db.url));
    dataDir = mkdtempSync(path.join(tmpdir(), 'globalmcp-spool-'));
  });

  afterAll(async () => {
    for (const gateway of gateways) await gateway.stop();
    await link?.cut().catch(() => undefined);
    await db?.drop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('answers calls while the database is away, keeps their records through a kill -9, and writes them when it is back', async () => {
    const first = await start();
    const before = await echo(first, 'before the outage');
    expect(before.status).toBe(200);
    expect(await recorded([before.body.execution_id])).toEqual([{ id: before.body.execution_id, status: 'completed' }]);

    await link.cut();
    // Past the 5 s an API key is remembered for: the key is still honoured while the database cannot be asked.
    await new Promise((resolve) => setTimeout(resolve, 6_000));
    const answered: string[] = [];
    for (let i = 0; i < 10; i++) {
      const res = await echo(first, `during the outage ${i}`);
      expect(res.status).toBe(200); // the tool ran: the caller gets its answer
      answered.push(res.body.execution_id);
    }
    const spool = path.join(dataDir, 'spool', 'executions.spool.jsonl');
    expect(existsSync(spool)).toBe(true);
    const spooled = readFileSync(spool, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => (JSON.parse(line) as { id: string }).id);
    expect(spooled).toEqual(answered);

    // A crash before the database returns: what was answered is in the spool file, not in memory.
    const orphans = first.processTree();
    first.child.kill('SIGKILL');
    await waitFor(async () => !isAlive(first.child.pid!), 10_000, 'the killed gateway to exit');
    for (const pid of orphans) if (isAlive(pid)) process.kill(pid, 'SIGKILL');

    await link.restore();
    const next = await start();
    await waitFor(
      async () => (await recorded(answered)).length === answered.length,
      20_000,
      'the next start to write the spooled records',
    );
    expect((await recorded(answered)).every((row) => row.status === 'completed')).toBe(true);
    await waitFor(async () => !existsSync(spool), 5_000, 'the spool to be emptied');
    const after = await echo(next, 'after the outage');
    expect(after.status).toBe(200);
    expect(await recorded([after.body.execution_id])).toHaveLength(1);
  }, 180_000);
});
