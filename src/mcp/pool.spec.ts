import { EngineError, EngineErrorCode } from './engine-error';
import { ConcurrencyLimiter, ConnectionPool, MemberLoad, type PlacementKey, type PoolMember } from './pool';

describe('ConcurrencyLimiter', () => {
  it('grants up to max at once, queues FIFO, and refuses beyond the queue capacity', async () => {
    const depths: number[] = [];
    const limiter = new ConcurrencyLimiter(2, 2, (d) => depths.push(d));
    const a = limiter.acquire(1_000) as () => void;
    const b = limiter.acquire(1_000) as () => void;
    expect(typeof a).toBe('function');
    const order: string[] = [];
    const c = (limiter.acquire(1_000) as Promise<() => void>).then((r) => (order.push('c'), r));
    const d = (limiter.acquire(1_000) as Promise<() => void>).then((r) => (order.push('d'), r));
    expect(() => limiter.acquire(1_000)).toThrow(expect.objectContaining({ code: EngineErrorCode.SERVER_UNAVAILABLE }));
    expect(limiter.depth).toBe(2);
    a();
    a(); // double release is harmless
    const releaseC = await c;
    b();
    const releaseD = await d;
    expect(order).toEqual(['c', 'd']);
    expect(limiter.inFlight).toBe(2);
    releaseC();
    releaseD();
    expect(limiter.inFlight).toBe(0);
    expect(limiter.depth).toBe(0);
    expect(depths).toEqual([1, 2, 1, 0]);
  });

  it('times out and cancels queued waiters without losing permits', async () => {
    const limiter = new ConcurrencyLimiter(1, 10);
    const held = limiter.acquire(1_000) as () => void;
    await expect(limiter.acquire(20)).rejects.toMatchObject({ code: EngineErrorCode.TIMEOUT });
    const controller = new AbortController();
    const cancelled = limiter.acquire(1_000, controller.signal);
    controller.abort();
    await expect(cancelled).rejects.toMatchObject({ code: EngineErrorCode.CANCELLED });
    expect(limiter.depth).toBe(0);
    held();
    expect(limiter.inFlight).toBe(0);
    expect(typeof limiter.acquire(10)).toBe('function');
  });
});

describe('ConnectionPool', () => {
  it('sizes a pool from poolSize, coreSize and maxSize', () => {
    expect(ConnectionPool.sizeFor(undefined, 2, 16)).toBe(2);
    expect(ConnectionPool.sizeFor(8, 2, 16)).toBe(8);
    expect(ConnectionPool.sizeFor(100, 2, 16)).toBe(16);
  });

  it('picks the open member with the fewest requests in flight', () => {
    const pool = new ConnectionPool<PoolMember>(3);
    const member = (isOpen: boolean, inFlight: number) => ({ isOpen, inFlight, load: new MemberLoad() });
    pool.set(0, member(true, 3));
    pool.set(1, member(false, 0));
    pool.set(2, member(true, 1));
    expect(pool.pick()).toBe(pool.get(2));
    expect(pool.openCount).toBe(2);
    expect(pool.inFlight).toBe(4);
  });
});

describe('ConnectionPool placement', () => {
  /** A member whose requests in flight are the calls placed on it (as when each placed call is sent at once). */
  class Member implements PoolMember {
    isOpen = true;
    readonly load = new MemberLoad();
    constructor(readonly name: string) {}
    get inFlight(): number {
      return this.load.total;
    }
  }
  const session = (group: string): PlacementKey => ({ group, answers: true });
  const mute = (group: string): PlacementKey => ({ group, answers: false });

  function poolOf(size: number, queueCapacity = 10) {
    let waits = 0;
    const pool = new ConnectionPool<Member>(size, queueCapacity, () => waits++, 'srv');
    const members = Array.from({ length: size }, (_, i) => new Member(`m${i}`));
    members.forEach((m, i) => pool.set(i, m));
    return { pool, members, waits: () => waits };
  }

  /** What a placement settled to, without awaiting one that waits. */
  function track(placed: Member | Promise<Member> | undefined) {
    const state: { member?: Member; error?: { code: string } } = {};
    if (placed instanceof Promise)
      placed.then(
        (m) => (state.member = m),
        (e: { code: string }) => (state.error = e),
      );
    else state.member = placed;
    return state;
  }
  const settle = () => new Promise((resolve) => setImmediate(resolve));

  it('REST-only traffic takes the least busy member at once, never a promise', () => {
    const { pool, members, waits } = poolOf(2);
    const a = pool.place(undefined, 1_000);
    const b = pool.place(mute('s1'), 1_000);
    const c = pool.place(undefined, 1_000);
    expect(a).toBe(members[0]);
    expect(b).toBe(members[1]);
    expect(c).toBeInstanceOf(Member);
    expect(pool.placementDepth).toBe(0);
    expect(waits()).toBe(0);
    pool.release(a as Member, undefined);
    pool.release(b as Member, mute('s1'));
    pool.release(c as Member, undefined);
    expect(members.map((m) => m.load.total)).toEqual([0, 0]);
  });

  it('shares a member that routes by call (2026-07-28) between answering sessions and plain calls', () => {
    const { pool, members, waits } = poolOf(1);
    Object.assign(members[0]!, { routesByCall: true });
    const a = pool.place(session('a'), 1_000);
    const b = pool.place(session('b'), 1_000);
    const rest = pool.place(undefined, 1_000);
    // Nobody waits: each call's questions come back in its own result, so no session needs the member to itself.
    expect([a, b, rest]).toEqual([members[0], members[0], members[0]]);
    expect(waits()).toBe(0);
    expect(members[0]!.load).toMatchObject({ plain: 3, answering: 0, group: undefined });
    pool.release(a as Member, session('a'));
    pool.release(b as Member, session('b'));
    pool.release(rest as Member, undefined);
    expect(members[0]!.load.total).toBe(0);
    // Free again for the next call.
    expect(pool.place(session('c'), 1_000)).toBe(members[0]);
  });

  it('runs a second answering session on a pool of 1 only once the first is done', async () => {
    const { pool, members, waits } = poolOf(1);
    const first = pool.place(session('a'), 1_000) as Member;
    expect(first).toBe(members[0]);
    const second = track(pool.place(session('b'), 1_000));
    await settle();
    expect(second.member).toBeUndefined();
    expect(waits()).toBe(1);
    pool.release(first, session('a'));
    await settle();
    expect(second.member).toBe(members[0]);
    expect(members[0]!.load).toMatchObject({ answering: 1, group: 'b', plain: 0 });
  });

  it('lets calls of one session share a member, and prefers an idle member', () => {
    const { pool, members } = poolOf(2);
    const a1 = pool.place(session('a'), 1_000);
    const b1 = pool.place(session('b'), 1_000);
    expect([a1, b1]).toEqual([members[0], members[1]]);
    // Both members busy: a call of session a joins its own member, never b's.
    expect(pool.place(session('a'), 1_000)).toBe(members[0]);
    expect(pool.place(session('b'), 1_000)).toBe(members[1]);
    expect(members[0]!.load).toMatchObject({ answering: 2, group: 'a' });
  });

  it('keeps REST calls off a member of an answering session, and the other way round', async () => {
    const { pool, members } = poolOf(2);
    const a = pool.place(session('a'), 1_000) as Member;
    // The other member is free for REST, even a busy one; never a's member.
    const rest1 = pool.place(undefined, 1_000);
    const rest2 = pool.place(undefined, 1_000);
    expect([rest1, rest2]).toEqual([members[1], members[1]]);
    // Both members taken (a's and REST's): session b waits; so does REST behind it (FIFO).
    const b = track(pool.place(session('b'), 1_000));
    const rest3 = track(pool.place(undefined, 1_000));
    await settle();
    expect(b.member).toBeUndefined();
    expect(rest3.member).toBeUndefined();
    pool.release(a, session('a'));
    await settle();
    expect(b.member).toBe(members[0]);
    // REST is served as soon as b is placed: the REST member fits it.
    expect(rest3.member).toBe(members[1]);
  });

  it('makes REST wait behind an answering session on a pool of 1, then run', async () => {
    const { pool, members } = poolOf(1);
    const a = pool.place(session('a'), 1_000) as Member;
    const rest = track(pool.place(undefined, 1_000));
    await settle();
    expect(rest.member).toBeUndefined();
    pool.release(a, session('a'));
    await settle();
    expect(rest.member).toBe(members[0]);
    expect(members[0]!.load).toMatchObject({ plain: 1, answering: 0, group: undefined });
  });

  it('serves waiters in strict FIFO order: an answering session is not overtaken by later REST calls', async () => {
    const { pool, members } = poolOf(1);
    const rest = pool.place(undefined, 1_000) as Member;
    const a = track(pool.place(session('a'), 1_000));
    // Would fit the busy REST member, but a waits ahead of it.
    const later = track(pool.place(undefined, 1_000));
    await settle();
    expect([a.member, later.member]).toEqual([undefined, undefined]);
    pool.release(rest, undefined);
    await settle();
    expect(a.member).toBe(members[0]);
    expect(later.member).toBeUndefined();
    pool.release(members[0]!, session('a'));
    await settle();
    expect(later.member).toBe(members[0]);
  });

  it('gives up on its timeout and on its signal, and the next waiter moves up', async () => {
    const { pool, members } = poolOf(1);
    const a = pool.place(session('a'), 1_000) as Member;
    await expect(pool.place(session('b'), 20)).rejects.toMatchObject({ code: EngineErrorCode.TIMEOUT });
    const controller = new AbortController();
    const cancelled = pool.place(session('c'), 1_000, controller.signal) as Promise<Member>;
    const next = track(pool.place(session('d'), 1_000));
    controller.abort();
    await expect(cancelled).rejects.toMatchObject({ code: EngineErrorCode.CANCELLED });
    expect(pool.placementDepth).toBe(1);
    pool.release(a, session('a'));
    await settle();
    expect(next.member).toBe(members[0]);
    const aborted = new AbortController();
    aborted.abort();
    await expect(pool.place(session('e'), 1_000, aborted.signal)).rejects.toMatchObject({
      code: EngineErrorCode.CANCELLED,
    });
  });

  it('refuses at once when the queue is full, and fails waiters when the server goes down', async () => {
    const { pool, members } = poolOf(1, 1);
    expect(pool.place(session('a'), 1_000)).toBe(members[0]);
    const waiting = pool.place(session('b'), 1_000) as Promise<Member>;
    await expect(pool.place(undefined, 1_000)).rejects.toMatchObject({
      code: EngineErrorCode.SERVER_UNAVAILABLE,
      details: { reason: 'queue-full', server: 'srv' },
    });
    pool.failWaiters(new EngineError(EngineErrorCode.SERVER_UNAVAILABLE, 'down'));
    await expect(waiting).rejects.toMatchObject({ code: EngineErrorCode.SERVER_UNAVAILABLE });
    expect(pool.placementDepth).toBe(0);
  });

  it("counts a replaced member's calls until they are released, apart from its successor's", async () => {
    const { pool, members } = poolOf(1);
    const old = members[0]!;
    expect(pool.place(session('a'), 1_000)).toBe(old);
    // a's member dies with a's call on it (that call fails later); a new member takes the slot and serves b.
    old.isOpen = false;
    const fresh = new Member('fresh');
    pool.set(0, fresh);
    expect(pool.place(session('b'), 1_000)).toBe(fresh);
    const rest = track(pool.place(undefined, 1_000));
    pool.release(old, session('a'));
    await settle();
    expect(rest.member).toBeUndefined(); // the member is b's
    expect(old.load).toMatchObject({ answering: 0, plain: 0, group: undefined });
    expect(fresh.load).toMatchObject({ answering: 1, plain: 0, group: 'b' });
    pool.release(fresh, session('b'));
    await settle();
    expect(rest.member).toBe(fresh);
    pool.release(fresh, undefined);
    expect(fresh.load.total).toBe(0);
    // No answering call is counted any more (REST-only traffic is back on the hot path).
    expect(pool['answeringCalls']).toBe(0);
  });

  it('answers undefined without an open member, and serves a waiter when a member comes up', async () => {
    const { pool, members } = poolOf(1);
    members[0]!.isOpen = false;
    expect(pool.place(undefined, 1_000)).toBeUndefined();
    expect(pool.place(session('a'), 1_000)).toBeUndefined();
    members[0]!.isOpen = true;
    const a = pool.place(session('a'), 1_000) as Member;
    const b = track(pool.place(session('b'), 1_000));
    // a's member dies; a new one takes the slot.
    const fresh = new Member('fresh');
    pool.set(0, fresh);
    await settle();
    expect(b.member).toBe(fresh);
    pool.release(a, session('a'));
    expect(a.load.total).toBe(0);
  });
});
