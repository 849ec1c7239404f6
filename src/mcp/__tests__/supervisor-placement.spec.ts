import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import { serverEntrySchema } from 'src/config/config.schema';
import type { McpConnection } from '../connection';
import { silentLogger } from '../engine-logger';
import { MemberLoad, type PlacementKey } from '../pool';
import { ServerSupervisor } from '../supervisor';

/**
 * The supervisor's side of placement with stand-in connections (the one mocked class): when each connection opens,
 * closes and is gone is up to the test, which real sessions would only give by timing.
 */
class FakeConnection extends EventEmitter {
  isOpen = false;
  inFlight = 0;
  readonly load = new MemberLoad();
  lastUsedAt = performance.now();
  readonly pid = null;
  serverVersion: { name: string; version: string } | undefined = { name: 'fake', version: '1.0.0' };
  readonly protocolVersion = '2025-11-25';
  /** Whether `close` leaves the connection not yet gone (a slow close) until `gone()`. */
  slowClose = false;
  private resolveGone!: () => void;
  private readonly goneP = new Promise<void>((resolve) => (this.resolveGone = resolve));

  /** Whether `open` waits for `opened()` (a slow first connect). */
  slowOpen = false;
  private finishOpen: () => void = () => undefined;

  open(): Promise<void> {
    if (!this.slowOpen) {
      this.isOpen = true;
      return Promise.resolve();
    }
    return new Promise((resolve) => (this.finishOpen = () => ((this.isOpen = true), resolve())));
  }

  opened(): void {
    this.finishOpen();
  }

  close(reason: string): Promise<void> {
    if (this.isOpen) {
      this.isOpen = false;
      this.emit('closed', reason);
    }
    if (!this.slowClose) this.resolveGone();
    return this.goneP;
  }

  whenGone(): Promise<void> {
    return this.goneP;
  }

  gone(): void {
    this.resolveGone();
  }
}

const session = (group: string): PlacementKey => ({ group, answers: true });

async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 5));
  if (!condition()) throw new Error('condition not reached');
}

function supervisorOf(poolSize: number, keepAliveMs: number, slowOpen = false) {
  const connections: FakeConnection[] = [];
  const entry = serverEntrySchema.parse({ type: 'http', url: 'http://fake.invalid/mcp' });
  const supervisor = new ServerSupervisor(
    'srv',
    entry,
    poolSize,
    () => {
      const connection = new FakeConnection();
      connection.slowOpen = slowOpen;
      connections.push(connection);
      return connection as unknown as McpConnection;
    },
    { maxAttempts: 3, backoffMultiplier: 2, initialInterval: 10, maxInterval: 100 },
    { maxCrashes: 50, windowMs: 10_000 },
    silentLogger,
    keepAliveMs,
    10,
  );
  return { supervisor, connections };
}

describe('ServerSupervisor placement', () => {
  it('opens a slot that slept after idling for a call waiting for a member, once its old session is gone', async () => {
    const { supervisor, connections } = supervisorOf(2, 20);
    try {
      supervisor.start();
      await until(() => supervisor.pool.openCount === 2);
      // alice's call keeps member 0 (its session's alone); member 1 idles and is put to sleep, slowly closing.
      const alice = supervisor.place(session('alice'), 5_000);
      expect(alice).toBe(connections[0]);
      connections[1]!.slowClose = true;
      await until(() => !connections[1]!.isOpen);
      // bob's call fits no member: 0 is alice's, 1 still closing (its slot cannot hold a second session yet).
      const bob = supervisor.place(session('bob'), 5_000);
      expect(bob).toBeInstanceOf(Promise);
      (bob as Promise<McpConnection>).catch(() => undefined); // awaited below; handled if the test fails before
      connections[1]!.gone();
      // The slot is free now: bob gets a new session there while alice's call still runs.
      await until(() => connections.length === 3);
      expect(await bob).toBe(connections[2]);
      expect(connections[0]!.load.answering).toBe(1);
    } finally {
      await supervisor.stop();
    }
  });

  it('waits for the first member at start for a timeout longer than a timer can hold (24.8 days)', async () => {
    const { supervisor, connections } = supervisorOf(1, 0, true);
    jest.useFakeTimers();
    try {
      supervisor.start();
      const days30 = 30 * 24 * 3_600_000;
      let outcome: string | undefined;
      supervisor.acquire(days30).then(
        () => (outcome = 'member'),
        () => (outcome = 'failed'),
      );
      // Node (and the fake clock) fire a timer of more than 2^31-1 ms after 1 ms.
      await jest.advanceTimersByTimeAsync(60_000);
      expect(outcome).toBeUndefined();
      connections[0]!.opened();
      await jest.advanceTimersByTimeAsync(1);
      expect(outcome).toBe('member');
    } finally {
      jest.useRealTimers();
      await supervisor.stop();
    }
  });

  it("keeps presenting the upstream's identity while no member is open (reconnecting)", async () => {
    const { supervisor, connections } = supervisorOf(1, 0);
    try {
      expect(supervisor.state().serverInfo).toBeUndefined();
      supervisor.start();
      await until(() => supervisor.pool.openCount === 1);
      expect(supervisor.state()).toMatchObject({ serverInfo: { name: 'fake', version: '1.0.0' } });
      void connections[0]!.close('crashed');
      await until(() => supervisor.pool.openCount === 0);
      expect(supervisor.state()).toMatchObject({
        serverInfo: { name: 'fake', version: '1.0.0' },
        protocolVersion: '2025-11-25',
      });
    } finally {
      await supervisor.stop();
    }
  });
});
