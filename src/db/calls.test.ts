import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CallFlag, CallId, Operation, RecordFlag } from '../protocol/constants.js';
import { jenkinsHash } from '../protocol/hash.js';
import type { Packet } from '../protocol/packets.js';
import { CallEngine, redirectCall, requesterOf } from './calls.js';
import { LocalDb } from './local-db.js';
import { decodeRecordValue, encodeRecordValue } from './ltdb.js';
import { RO_FLAGS, delegatesOf } from './readonly.js';
import { RecordLocks } from './record-locks.js';

/**
 * Three call engines wired through an in-memory network that keeps per-link
 * FIFO order (as TCP does) and delivers packets in a seeded random order
 * across links. Each node has its own real TDB file.
 */
class SimCluster {
  readonly nodes: { engine: CallEngine; db: LocalDb; locks: RecordLocks }[] = [];
  /** Queued packets per link "from>to". */
  private readonly links = new Map<string, Array<Packet | (() => void)>>();
  readonly sent: { from: number; to: number; p: Packet }[] = [];
  private seed: number;
  generation = 7;

  clock = 1000;
  readonly timers: { at: number; fn: () => void }[] = [];
  tunables: Record<string, number> = {};
  /** Node-statistics events each engine reported (CallHost.counted). */
  readonly counted: string[][] = [];

  constructor(dir: string, readonly size: number, seed: number) {
    this.seed = seed;
    for (let pnn = 0; pnn < size; pnn++) {
      const db = LocalDb.open('sim.tdb', 'volatile', { pnn, dirs: { volatileDir: dir, persistentDir: dir, stateDir: dir }, mutexes: false, hashSize: 131 });
      const locks = new RecordLocks(() => db.tdb, (err) => { throw err; });
      const counted: string[] = [];
      this.counted.push(counted);
      const engine = new CallEngine({
        pnn, generation: () => this.generation, lmaster: (h) => h % size,
        send: (to, p) => this.enqueue(pnn, to, p), db: (id) => (id === db.id ? { db, locks } : undefined),
        hash: (k) => jenkinsHash(k), warn: () => {},
        tunable: (n) => this.tunables[n], now: () => this.clock, counted: (e) => counted.push(e),
        later: (fn, ms) => { this.timers.push({ at: this.clock + ms, fn }); },
        // UPDATE_RECORD travels on the same ordered link as the packets.
        updateRecord: (to, dbId, key, value) => new Promise<boolean>((res) => {
          this.enqueueFn(pnn, to, () => this.nodes[to]!.engine.applyRevoke(dbId, key, value, res));
        }),
      });
      this.nodes.push({ engine, db, locks });
    }
  }

  private enqueue(from: number, to: number, p: Packet): void {
    this.sent.push({ from, to, p });
    const k = `${from}>${to}`;
    const q = this.links.get(k) ?? [];
    q.push(p);
    this.links.set(k, q);
  }

  private enqueueFn(from: number, to: number, fn: () => void): void {
    const k = `${from}>${to}`;
    const q = this.links.get(k) ?? [];
    q.push(fn);
    this.links.set(k, q);
  }

  private random(n: number): number {
    this.seed = (this.seed * 1103515245 + 12345) & 0x7fffffff;
    return this.seed % n;
  }

  /** Delivers queued packets until the network is quiet (bounded); promise callbacks run in between. */
  async settle(maxRounds = 50): Promise<void> {
    for (let i = 0; i < maxRounds; i++) {
      this.run();
      await new Promise<void>((r) => setImmediate(r));
      if ([...this.links.values()].every((q) => q.length === 0)) return;
    }
    throw new Error('network did not settle');
  }

  /** Delivers queued packets until the network is quiet (bounded). */
  run(maxSteps = 10_000): void {
    for (let step = 0; step < maxSteps; step++) {
      const busy = [...this.links.entries()].filter(([, q]) => q.length > 0);
      if (busy.length === 0) return;
      const [k, q] = busy[this.random(busy.length)]!;
      const to = Number(k.split('>')[1]);
      const p = q.shift()!;
      if (typeof p === 'function') p(); else this.nodes[to]!.engine.onPacket(p);
    }
    throw new Error('network did not settle');
  }

  /** Loses every packet in flight (a connection drop during recovery). */
  dropAll(): void { this.links.clear(); }

  header(pnn: number, key: Buffer) {
    const v = this.nodes[pnn]!.db.tdb.fetch(key);
    return v === undefined ? undefined : decodeRecordValue(v);
  }

  /** A local fetch-and-store as a client does after its call completes. */
  write(pnn: number, key: Buffer, data: string): void {
    const db = this.nodes[pnn]!.db;
    const rec = decodeRecordValue(db.tdb.fetch(key)!)!;
    expect(rec.header.dmaster).toBe(pnn);
    db.tdb.store(key, encodeRecordValue({ ...rec.header, rsn: rec.header.rsn + 1n }, Buffer.from(data)));
  }

  close(): void { for (const n of this.nodes) n.db.close(); }
}

describe('record migration (simulated 3-node network)', () => {
  let dir: string;
  let sim: SimCluster | undefined;
  beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'ctdb-calls-')); });
  afterEach(() => { sim?.close(); sim = undefined; rmSync(dir, { recursive: true, force: true }); });

  const key = Buffer.from('k1'); // lmaster 0 in a 3-node map (hash 0xeb04426d)

  it('migrates an absent record from the lmaster to the requester', () => {
    sim = new SimCluster(dir, 3, 1);
    const done: number[] = [];
    sim.nodes[1]!.engine.localCall(sim.nodes[1]!.db.id, key, CallId.NULL_FUNC, CallFlag.IMMEDIATE_MIGRATION, (s) => done.push(s));
    sim.run();
    expect(done).toEqual([0]);
    expect(sim.header(1, key)?.header.dmaster).toBe(1);
    expect(sim.header(0, key)?.header.dmaster).toBe(1);
    expect(sim.sent.map((x) => [x.from, x.to, x.p.operation])).toEqual([[1, 0, Operation.REQ_CALL], [0, 1, Operation.REPLY_DMASTER]]);
  });

  it('goes through the lmaster when a third node holds the record, keeping data and bumping rsn', () => {
    sim = new SimCluster(dir, 3, 2);
    const call = (pnn: number): void => sim!.nodes[pnn]!.engine.localCall(sim!.nodes[pnn]!.db.id, key, CallId.NULL_FUNC, 1, () => {});
    call(1); sim.run(); sim.write(1, key, 'one');
    const rsn = sim.header(1, key)!.header.rsn;
    call(2); sim.run();
    const rec = sim.header(2, key)!;
    expect(rec.header.dmaster).toBe(2);
    expect(rec.data.toString()).toBe('one');
    expect(rec.header.rsn).toBeGreaterThan(rsn);
    expect(rec.header.flags & RecordFlag.MIGRATED_WITH_DATA).not.toBe(0);
    expect(sim.header(0, key)!.header.dmaster).toBe(2);
  });

  it.each([1, 2, 3, 4, 5])('concurrent requests from every node all complete with low hopcounts (seed %i)', (seed) => {
    sim = new SimCluster(dir, 3, seed);
    let completed = 0;
    for (let round = 0; round < 5; round++) {
      for (const pnn of [0, 1, 2]) {
        sim.nodes[pnn]!.engine.localCall(sim.nodes[pnn]!.db.id, key, CallId.FETCH_FUNC, 1, (s) => { expect(s).toBe(0); completed++; });
      }
      sim.run();
    }
    expect(completed).toBe(15);
    const holders = [0, 1, 2].filter((p) => sim!.header(p, key)?.header.dmaster === p);
    expect(holders).toHaveLength(1);
    expect(sim.header(0, key)!.header.dmaster).toBe(holders[0]);
    const hops = sim.sent.filter((x) => x.p.operation === Operation.REQ_CALL).map((x) => (x.p as { hopcount: number }).hopcount);
    expect(Math.max(...hops)).toBeLessThanOrEqual(4);
    for (const n of sim.nodes) expect(n.engine.pendingCount).toBe(0);
  });

  it('requests for a record whose lock is busy at the lmaster wait there in order instead of bouncing', () => {
    sim = new SimCluster(dir, 3, 9);
    const call = (pnn: number, cb: () => void = () => {}): void => sim!.nodes[pnn]!.engine.localCall(sim!.nodes[pnn]!.db.id, key, CallId.NULL_FUNC, 1, cb);
    call(1); sim.run(); // node 1 holds k1, lmaster 0 knows it
    sim.nodes[0]!.locks.pause(); // the lmaster cannot take the record lock for now
    let done = 0;
    call(2, () => done++);
    call(1, () => done++); // node 1 is dmaster: completes locally
    // Deliver: node 2's REQ_CALL reaches lmaster 0 and waits there; nothing is redirected meanwhile.
    sim.run();
    expect(done).toBe(1);
    expect(sim.sent.filter((x) => x.from === 0)).toHaveLength(1); // only the first migration's REPLY_DMASTER
    sim.nodes[0]!.locks.resume();
    sim.run();
    expect(done).toBe(2);
    expect(sim.header(2, key)!.header.dmaster).toBe(2);
    const hops = sim.sent.filter((x) => x.p.operation === Operation.REQ_CALL).map((x) => (x.p as { hopcount: number }).hopcount);
    expect(Math.max(...hops)).toBeLessThanOrEqual(1);
  });

  it('re-sends a call lost in flight once the generation changes', () => {
    sim = new SimCluster(dir, 3, 5);
    const n2 = sim.nodes[2]!;
    let status: number | undefined;
    n2.engine.localCall(n2.db.id, key, CallId.NULL_FUNC, 1, (s) => { status = s; });
    sim.dropAll();
    n2.engine.resendStale();
    sim.run();
    expect(status).toBeUndefined(); // same generation: nothing re-sent
    sim.generation = 8;
    n2.engine.resendStale();
    sim.run();
    expect(status).toBe(0);
    expect(sim.header(2, key)!.header.dmaster).toBe(2);
  });

  it('drops migration packets of another generation on arrival', () => {
    sim = new SimCluster(dir, 3, 5);
    const n2 = sim.nodes[2]!;
    let status: number | undefined;
    n2.engine.localCall(n2.db.id, key, CallId.NULL_FUNC, 1, (s) => { status = s; });
    sim.generation = 8; // a recovery happened while the REQ_CALL (generation 7) was in flight
    sim.run();
    expect(sim.nodes[0]!.engine.droppedOtherGeneration).toBe(1);
    expect(sim.sent.filter((x) => x.from === 0)).toHaveLength(0);
    expect(status).toBeUndefined();
    n2.engine.resendStale();
    sim.run();
    expect(status).toBe(0);
    expect(sim.sent.at(-2)!.p).toMatchObject({ operation: Operation.REQ_CALL, generation: 8, hopcount: 0 });
  });

  it('work queued while frozen is discarded when a recovery changed the generation; the requester re-sends', () => {
    sim = new SimCluster(dir, 3, 11);
    const call = (pnn: number, cb: (s: number) => void = () => {}): void =>
      sim!.nodes[pnn]!.engine.localCall(sim!.nodes[pnn]!.db.id, key, CallId.NULL_FUNC, 1, cb);
    call(1); sim.run(); // node 1 holds k1
    sim.nodes[0]!.locks.pause(); // lmaster frozen for recovery
    let done = false;
    call(2, () => { done = true; });
    sim.run(); // node 2's REQ_CALL waits in the lmaster's queue
    // Recovery: new generation, the database wiped and re-pushed (here: the lmaster becomes dmaster).
    sim.generation = 8;
    for (const n of sim.nodes) n.db.tdb.wipeAll();
    sim.nodes[0]!.db.tdb.store(key, encodeRecordValue({ rsn: 5n, dmaster: 0, flags: RecordFlag.MIGRATED_WITH_DATA }, Buffer.from('x')));
    sim.nodes[0]!.locks.resume(); // thaw: the old-generation REQ_CALL is dropped, not redirected
    expect(sim.nodes[0]!.engine.droppedOtherGeneration).toBe(1);
    sim.run();
    expect(done).toBe(false);
    sim.nodes[2]!.engine.resendStale();
    sim.run();
    expect(done).toBe(true);
    expect(sim.header(2, key)!.header).toMatchObject({ dmaster: 2, rsn: 6n });
    const hops = sim.sent.filter((x) => x.p.operation === Operation.REQ_CALL).map((x) => (x.p as { hopcount: number }).hopcount);
    expect(Math.max(...hops)).toBe(0);
  });

  it('a sticky record stays pinned on its new dmaster for StickyPindown, then moves on', () => {
    sim = new SimCluster(dir, 3, 6);
    sim.tunables = { HopcountMakeSticky: 0, StickyDuration: 600, StickyPindown: 200 };
    for (const n of sim.nodes) n.db.flags |= 0x04;
    const call = (pnn: number, cb: (s: number) => void = () => {}): void =>
      sim!.nodes[pnn]!.engine.localCall(sim!.nodes[pnn]!.db.id, key, CallId.NULL_FUNC, 1, cb);
    call(1); sim.run(); // node 0 saw a request: the record is sticky there
    call(0); sim.run(); // back to node 0, which pins it
    expect(sim.header(0, key)!.header.dmaster).toBe(0);
    let done = false;
    call(2, () => { done = true; });
    sim.run();
    expect(done).toBe(false); // deferred while pinned
    expect(sim.timers).toHaveLength(1);
    sim.clock += 200;
    sim.timers.splice(0).forEach((t) => t.fn());
    sim.run();
    expect(done).toBe(true);
    expect(sim.header(2, key)!.header.dmaster).toBe(2);
  });

  it('collapses local requests for a key already on its way here', () => {
    sim = new SimCluster(dir, 3, 3);
    const n1 = sim.nodes[1]!;
    const done: number[] = [];
    for (let i = 0; i < 5; i++) n1.engine.localCall(n1.db.id, key, CallId.NULL_FUNC, 1, (s) => done.push(s));
    sim.run();
    expect(done).toEqual([0, 0, 0, 0, 0]);
    expect(sim.sent.filter((x) => x.p.operation === Operation.REQ_CALL)).toHaveLength(1);
  });

  it('answers a call for an unknown database with REPLY_ERROR to the requester', () => {
    sim = new SimCluster(dir, 3, 4);
    let status = 0;
    const n1 = sim.nodes[1]!;
    // Node 1 knows a database the lmaster does not.
    n1.engine.localCall(n1.db.id, key, CallId.NULL_FUNC, 1, (s) => { status = s; });
    const sentBy0: Packet[] = [];
    const e0 = new CallEngine({
      pnn: 0, generation: () => 7, lmaster: (h) => h % 3, send: (_to, p) => { sentBy0.push(p); }, db: () => undefined, hash: jenkinsHash, warn: () => {},
    });
    e0.onReqCall(sim.sent[0]!.p as never);
    expect(sentBy0[0]).toMatchObject({ operation: Operation.REPLY_ERROR, destnode: 1, status: -1 });
    n1.engine.onReplyError(sentBy0[0]!.reqid, -1, 'unknown');
    expect(status).toBe(-1);
  });
});

describe('read-only delegations (simulated 3-node network, READONLY database)', () => {
  let dir: string;
  let sim: SimCluster | undefined;
  beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'ctdb-ro-')); });
  afterEach(() => { sim?.close(); sim = undefined; rmSync(dir, { recursive: true, force: true }); });
  const key = Buffer.from('k1'); // lmaster 0 in a 3-node map

  const setup = async (seed: number): Promise<SimCluster> => {
    const c = new SimCluster(dir, 3, seed);
    for (const n of c.nodes) n.db.setReadonly();
    c.nodes[0]!.engine.localCall(c.nodes[0]!.db.id, key, CallId.NULL_FUNC, 1, () => {});
    await c.settle();
    c.write(0, key, 'v1');
    return c;
  };
  const fetch = (c: SimCluster, pnn: number, ro: boolean): Promise<{ status: number; data: Buffer }> => new Promise((res) => {
    c.nodes[pnn]!.engine.localCall(c.nodes[pnn]!.db.id, key, ro ? CallId.FETCH_WITH_HEADER_FUNC : CallId.FETCH_FUNC,
      ro ? CallFlag.WANT_READONLY : CallFlag.IMMEDIATE_MIGRATION, (status, data) => res({ status, data }));
  });
  const after = async <T>(c: SimCluster, p: Promise<T>): Promise<T> => { await c.settle(); return p; };

  it('two nodes get read-only copies; repeated reads stay local; the dmaster tracks both delegates', async () => {
    sim = await setup(1);
    const rsn = sim.header(0, key)!.header.rsn;
    for (const pnn of [1, 2]) {
      const r = await after(sim, fetch(sim, pnn, true));
      expect(r.status).toBe(0);
      expect(decodeRecordValue(r.data)!.data.toString()).toBe('v1');
      expect(sim.header(pnn, key)).toMatchObject({ header: { rsn, dmaster: 0, flags: RecordFlag.RO_HAVE_READONLY }, data: Buffer.from('v1') });
    }
    expect(sim.header(0, key)!.header).toMatchObject({ dmaster: 0, rsn, flags: RecordFlag.RO_HAVE_DELEGATIONS });
    expect(delegatesOf(sim.nodes[0]!.db.delegateBitmap(key))).toEqual([1, 2]);
    expect(sim.nodes[0]!.db.counters.roDelegations).toBe(2);
    expect(sim.counted).toEqual([['roDelegation', 'roDelegation'], [], []]); // the node statistics see them too
    const sent = sim.sent.length;
    for (let i = 0; i < 3; i++) expect((await after(sim, fetch(sim, 1, true))).status).toBe(0);
    expect(sim.sent.length).toBe(sent); // answered from the local copy
    expect(sim.sent.filter((x) => x.p.operation === Operation.REQ_DMASTER || x.p.operation === Operation.REPLY_DMASTER)
      .filter((x) => x.to !== 0)).toHaveLength(0); // nothing migrated away from node 0
  });

  it('a write on the dmaster revokes: delegates drop their copies, rsn + 1, later reads see the new value', async () => {
    sim = await setup(2);
    await after(sim, fetch(sim, 1, true));
    await after(sim, fetch(sim, 2, true));
    const rsn = sim.header(0, key)!.header.rsn;
    expect((await after(sim, fetch(sim, 0, false))).status).toBe(0); // the local writer's fetch-lock call
    expect(sim.header(0, key)!.header).toMatchObject({ dmaster: 0, rsn: rsn + 1n, flags: 0 });
    for (const pnn of [1, 2]) expect(sim.header(pnn, key)!.header).toMatchObject({ dmaster: 0, flags: 0 });
    expect(sim.nodes[0]!.db.delegateBitmap(key)).toBeUndefined();
    expect(sim.nodes[0]!.db.counters.roRevokes).toBe(1);
    expect(sim.counted[0]!.filter((e) => e === 'roRevoke')).toHaveLength(1);
    sim.write(0, key, 'v2');
    const r = await after(sim, fetch(sim, 1, true));
    expect(decodeRecordValue(r.data)!.data.toString()).toBe('v2');
    expect(sim.header(1, key)).toMatchObject({ header: { flags: RecordFlag.RO_HAVE_READONLY }, data: Buffer.from('v2') });
  });

  it('a write request from a delegate revokes first, then migrates; queued read-only requests are replayed after', async () => {
    sim = await setup(3);
    await after(sim, fetch(sim, 1, true));
    await after(sim, fetch(sim, 2, true));
    const w = fetch(sim, 2, false);
    const r = fetch(sim, 1, true);
    await sim.settle();
    expect((await w).status).toBe(0);
    expect((await r).status).toBe(0);
    expect(sim.header(2, key)!.header.dmaster).toBe(2);
    expect(sim.header(2, key)!.data.toString()).toBe('v1');
    expect(sim.header(2, key)!.header.flags & RO_FLAGS & ~RecordFlag.RO_HAVE_DELEGATIONS).toBe(0);
    expect(sim.header(0, key)!.header.flags & RO_FLAGS).toBe(0);
    expect(sim.nodes[0]!.db.counters.roRevokes).toBe(1);
    for (const n of sim.nodes) expect(n.engine.pendingCount).toBe(0);
  });
});

describe('redirect keeps the requester in srcnode (as CTDB)', () => {
  it('forwards with srcnode unchanged, hopcount + 1 and the current generation; call data untouched', () => {
    const p = {
      operation: Operation.REQ_CALL, generation: 1, destnode: 0, srcnode: 2, reqid: 5, flags: 1, dbId: 1,
      callId: CallId.NULL_FUNC, hopcount: 0, key: Buffer.from('k'), callData: Buffer.from('ORIG\x01\0\0\0'),
    } as const;
    expect(requesterOf(p)).toBe(2);
    const a = redirectCall(p, 1, 9);
    expect(a).toMatchObject({ srcnode: 2, destnode: 1, hopcount: 1, generation: 9, reqid: 5 });
    expect(a.callData).toEqual(p.callData);
    const b = redirectCall(a, 0, 9);
    expect(b).toMatchObject({ srcnode: 2, destnode: 0, hopcount: 2 });
    expect(requesterOf(b)).toBe(2);
  });
});
