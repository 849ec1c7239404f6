import { EventEmitter } from 'node:events';
import { EngineErrorCode } from './engine-error';
import { silentLogger } from './engine-logger';
import { type PrincipalMember, PrincipalConnections } from './principal-connections';

/** A connection stand-in: records the headers it was made with and its close. */
class FakeConnection extends EventEmitter implements PrincipalMember {
  isOpen = false;
  inFlight = 0;
  closedWith: string | undefined;
  constructor(
    readonly headers: () => Readonly<Record<string, string>>,
    private readonly fail = false,
  ) {
    super();
  }
  open(): Promise<void> {
    if (this.fail) return Promise.reject(new Error('connect failed'));
    this.isOpen = true;
    return Promise.resolve();
  }
  close(reason?: string): Promise<void> {
    this.isOpen = false;
    this.closedWith = reason;
    this.emit('closed', reason);
    return Promise.resolve();
  }
}

describe('PrincipalConnections', () => {
  let now = 0;
  const made: FakeConnection[] = [];
  const pool = (max: number, idleMs = 60_000, fail = false) =>
    new PrincipalConnections<FakeConnection>({
      serverId: 'srv',
      max,
      idleMs,
      logger: silentLogger,
      now: () => now,
      create: (headers) => {
        const c = new FakeConnection(headers, fail);
        made.push(c);
        return c;
      },
    });

  beforeEach(() => {
    now = 0;
    made.length = 0;
  });

  it('keys connections by principal: each sends only its own principal’s latest headers', async () => {
    const p = pool(10);
    const alice = await p.acquire('alice', { authorization: 'Bearer a1' });
    const bob = await p.acquire('bob', { authorization: 'Bearer b1' });
    expect(alice.connection).not.toBe(bob.connection);
    const again = await p.acquire('alice', { authorization: 'Bearer a2' });
    expect(again.connection).toBe(alice.connection);
    expect(alice.connection.headers()).toEqual({ authorization: 'Bearer a2' });
    expect(bob.connection.headers()).toEqual({ authorization: 'Bearer b1' });
    expect(made).toHaveLength(2);
    [alice, bob, again].forEach((h) => h.release());
    await p.close();
  });

  it('makes room by closing the least recently used idle principal, and refuses when every one is busy', async () => {
    const p = pool(2);
    const a = await p.acquire('a', {});
    a.release();
    now = 1;
    const b = await p.acquire('b', {});
    const c = await p.acquire('c', {}); // evicts a (idle); b is held
    expect(made[0]!.closedWith).toMatch(/room for another principal/);
    expect(p.partitions().sort()).toEqual(['b', 'c']);
    await expect(p.acquire('d', {})).rejects.toMatchObject({
      code: EngineErrorCode.SERVER_UNAVAILABLE,
      details: { reason: 'principal-connections-full' },
    });
    b.release();
    c.release();
    await p.close();
  });

  it('closes connections idle for longer than idleMs, and opens a new one for the next call', async () => {
    const p = pool(10, 1_000);
    const a = await p.acquire('a', {});
    a.release();
    now = 999;
    p.closeIdle();
    expect(p.size).toBe(1);
    now = 1_000;
    p.closeIdle();
    expect(p.size).toBe(0);
    expect(made[0]!.closedWith).toMatch(/idle/);
    const next = await p.acquire('a', {});
    expect(next.connection).toBe(made[1]);
    next.release();
    await p.close();
  });

  it('forgets a connection that failed to open, and one closed by the upstream', async () => {
    const failing = pool(10, 1_000, true);
    await expect(failing.acquire('a', {})).rejects.toThrow('connect failed');
    expect(failing.size).toBe(0);
    await failing.close();
    const p = pool(10);
    const a = await p.acquire('a', {});
    a.release();
    await a.connection.close('upstream went away');
    expect(p.size).toBe(0);
    await p.close();
  });
});
