import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/*
 * Ports handed to test servers come from a block below the kernel's ephemeral range, one block per jest
 * worker. An ephemeral port (listen(0)) is free only "right now": while a test's server is stopped for a
 * restart, an outbound connection or a parallel test file may take the same number, and the restarted server
 * then fails to bind — or, worse, the test talks to somebody else's server. Outside the ephemeral range
 * nothing else on the machine picks the number, and the per-worker block keeps parallel files apart.
 */
const BLOCK_BASE = 20_000;
const BLOCK_SIZE = 1_000;
const workerIndex = Number(process.env.JEST_WORKER_ID ?? 0);
let nextOffset = Math.floor(Math.random() * BLOCK_SIZE);

function ephemeralRangeStart(): number {
  try {
    return Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
  } catch {
    return 32_768;
  }
}

function tryListen(port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(undefined));
    server.listen(port, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : undefined));
    });
  });
}

/** A TCP port free on 127.0.0.1 now and not one the kernel hands out to other sockets (see above). */
export async function freePort(): Promise<number> {
  const blockStart = BLOCK_BASE + workerIndex * BLOCK_SIZE;
  if (blockStart + BLOCK_SIZE <= ephemeralRangeStart()) {
    for (let attempt = 0; attempt < BLOCK_SIZE; attempt++) {
      const port = blockStart + (nextOffset++ % BLOCK_SIZE);
      if ((await tryListen(port)) !== undefined) return port;
    }
  }
  const port = await tryListen(0);
  if (port === undefined) throw new Error('could not find a free port on 127.0.0.1');
  return port;
}
