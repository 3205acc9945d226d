import { describe, expect, it } from 'vitest';
import { RecordFlag } from '../protocol/constants.js';
import { decodeRecBuffer, joinLtdb, splitLtdb } from '../protocol/payloads.js';
import { Reader } from '../protocol/buffer.js';
import { nextEpoch, pickPersistentSource, stampEpoch } from './driver.js';
import { RecoveryDb, forEachRecord, incomingWins, packRecBuffers } from './merge.js';

const val = (rsn: number, dmaster: number, data = 'x', flags = 0): Buffer =>
  joinLtdb({ rsn: BigInt(rsn), dmaster, flags }, Buffer.from(data));
const k = (s: string): Buffer => Buffer.from(s);

describe('incomingWins', () => {
  it.each([
    { stored: [5, 1], incoming: [6, 2], wins: true, why: 'higher rsn' },
    { stored: [5, 1], incoming: [4, 0], wins: false, why: 'lower rsn' },
    { stored: [5, 0], incoming: [5, 2], wins: true, why: 'equal rsn, stored is the leader copy' },
    { stored: [5, 1], incoming: [5, 0], wins: false, why: 'equal rsn, stored not the leader copy' },
  ])('$why', ({ stored, incoming, wins }) => {
    expect(incomingWins(val(stored[0]!, stored[1]!), val(incoming[0]!, incoming[1]!), 0)).toBe(wins);
  });
});

describe('RecoveryDb', () => {
  it('keeps the highest rsn whatever the pull order', () => {
    for (const order of [[0, 1, 2], [2, 1, 0], [1, 2, 0]]) {
      const db = new RecoveryDb(false, 0);
      const copies = [val(3, 0, 'old'), val(9, 1, 'new'), val(5, 2, 'mid')];
      for (const i of order) db.add(k('a'), copies[i]!);
      expect(splitLtdb(db.get(k('a'))!.value).data.toString()).toBe('new');
    }
  });

  it('volatile push drops empty records and marks the rest leader-owned, migrated with data', () => {
    const db = new RecoveryDb(false, 2);
    db.add(k('live'), val(4, 1, 'v', 0));
    db.add(k('gone'), val(7, 1, ''));
    const out = [...db.pushRecords()];
    expect(out.map((r) => r.key.toString())).toEqual(['live']);
    const h = splitLtdb(out[0]!.value).header;
    expect(h).toEqual({ rsn: 4n, dmaster: 2, flags: RecordFlag.MIGRATED_WITH_DATA });
    // The merge's own copy is untouched.
    expect(splitLtdb(db.get(k('live'))!.value).header.dmaster).toBe(1);
  });

  it('persistent push keeps records unchanged', () => {
    const db = new RecoveryDb(true, 0);
    const v = val(1, 1, '');
    db.add(k('p'), v);
    expect([...db.pushRecords()][0]!.value.equals(v)).toBe(true);
  });

  it('refuses a value without an ltdb header', () => {
    expect(() => new RecoveryDb(false, 0).add(k('a'), Buffer.alloc(10))).toThrow(/no ltdb header/);
  });
});

describe('packRecBuffers / forEachRecord', () => {
  it('splits at the limit and round-trips through the rec_buffer codec', () => {
    const recs = Array.from({ length: 50 }, (_, i) => ({ key: k(`key${i}`), value: val(i, 0, 'd'.repeat(i)) }));
    const bufs = [...packRecBuffers(7, recs, 400)];
    expect(bufs.length).toBeGreaterThan(1);
    const seen: string[] = [];
    for (const b of bufs) {
      expect(b.buf.length <= 400 || b.count === 1).toBe(true);
      const dec = decodeRecBuffer(new Reader(b.buf));
      expect(dec.records.length).toBe(b.count);
      expect(forEachRecord(b.buf, 7, (key, value) => { seen.push(key.toString()); expect(value.length).toBeGreaterThanOrEqual(24); })).toBe(b.count);
    }
    expect(seen).toEqual(recs.map((r) => r.key.toString()));
  });

  it('an empty set still yields one buffer with count 0', () => {
    const bufs = [...packRecBuffers(1, [], 1000)];
    expect(bufs.map((b) => b.count)).toEqual([0]);
  });

  it('rejects garbage and a foreign db id', () => {
    const [b] = [...packRecBuffers(1, [{ key: k('a'), value: val(1, 0) }], 1000)];
    expect(() => forEachRecord(b!.buf, 2, () => {})).toThrow(/expected/);
    expect(() => forEachRecord(b!.buf.subarray(0, b!.buf.length - 3), 1, () => {})).toThrow();
    const bad = Buffer.from(b!.buf); bad.writeUInt32LE(5, 8);
    expect(() => forEachRecord(bad, 1, () => {})).toThrow(/does not fit/);
  });
});

describe('pickPersistentSource', () => {
  it.each([
    { name: 'highest seqnum in one epoch', v: [[1, 3n], [1, 5n], [1, 4n]], best: 1 },
    { name: 'ties go to node order', v: [[2, 5n], [2, 5n]], best: 0 },
    { name: 'a newer epoch beats a higher seqnum', v: [[1, 9n], [2, 4n], [2, 3n]], best: 1 },
    { name: 'nodes without an epoch lose to one with', v: [[0, 7n], [1, 1n]], best: 1 },
  ])('$name', ({ v, best }) => {
    expect(pickPersistentSource(v.map(([epoch, seqnum]) => ({ epoch: epoch as number, seqnum: seqnum as bigint })))).toBe(best);
  });
});

describe('nextEpoch', () => {
  it.each([
    { name: 'one more than the highest when the clock is behind', epochs: [5, 9, 7], now: 3, want: 10 },
    { name: 'the clock when it is ahead (a recovery sharing no node with the last one still moves on)', epochs: [1, 1], now: 1_800_000_000, want: 1_800_000_000 },
    { name: 'nodes without an epoch', epochs: [0, 0], now: 0, want: 1 },
  ])('$name', ({ epochs, now, want }) => {
    expect(nextEpoch(epochs, now)).toBe(want);
  });
});

describe('stampEpoch', () => {
  it('sets the epoch in the sequence number record, keeping its seqnum', () => {
    const key = Buffer.from('__db_sequence_number__\0', 'latin1');
    const db = new RecoveryDb(true, 0);
    const v = Buffer.alloc(32); v.writeBigUInt64LE(3n, 0); v.writeBigUInt64LE(42n, 24);
    db.add(key, v);
    stampEpoch(db, 7);
    const got = db.get(key)!.value;
    expect([got.readUInt32LE(12), got.readBigUInt64LE(24), got.readBigUInt64LE(0)]).toEqual([7, 42n, 3n]);
  });
  it('creates the record (seqnum 0) when the database has none', () => {
    const db = new RecoveryDb(true, 0);
    stampEpoch(db, 2);
    const got = db.get(Buffer.from('__db_sequence_number__\0', 'latin1'))!.value;
    expect([got.length, got.readUInt32LE(12), got.readBigUInt64LE(24)]).toEqual([32, 2, 0n]);
  });
});

describe('RecoveryDb on whole rec_buffers (addRecBuffer / pushBuffers)', () => {
  const pulled = (dbId: number, recs: Array<[string, Buffer]>): Buffer =>
    [...packRecBuffers(dbId, recs.map(([key, value]) => ({ key: k(key), value })), 1 << 20)][0]!.buf;

  it('merges buffers from several nodes like add() does and packs the same records pushRecords() gives', () => {
    for (const persistent of [false, true]) {
      const a = new RecoveryDb(persistent, 1); const b = new RecoveryDb(persistent, 1);
      const node0: Array<[string, Buffer]> = [['x', val(3, 0, 'x0')], ['y', val(5, 0, 'y0')], ['gone', val(9, 0, '')], ['big', val(0x2_0000_0000, 0, 'b0')]];
      const node1: Array<[string, Buffer]> = [['x', val(4, 1, 'x1')], ['y', val(5, 1, 'y1')], ['z', val(1, 1, 'z1', RecordFlag.RO_HAVE_READONLY)], ['big', val(0x2_0000_0000 - 1, 1, 'b1')]];
      const node2: Array<[string, Buffer]> = [['y', val(5, 2, 'y2')], ['x', val(2, 2, 'x2')]];
      for (const recs of [node0, node1, node2]) {
        expect(a.addRecBuffer(pulled(7, recs), 7)).toBe(recs.length);
        for (const [key, v] of recs) b.add(k(key), v);
      }
      expect(a.size).toBe(5);
      // x: rsn 4 wins; y: equal rsn, node 0's copy kept (stored copy not the leader's); big: the 64-bit rsn compares whole
      expect(splitLtdb(a.get(k('x'))!.value).data.toString()).toBe('x1');
      expect(splitLtdb(a.get(k('y'))!.value).data.toString()).toBe('y0');
      expect(splitLtdb(a.get(k('big'))!.value).data.toString()).toBe('b0');
      const want = [...b.pushRecords()];
      const got: Array<{ key: string; value: Buffer }> = [];
      const bufs = [...a.pushBuffers(7, 60)];
      expect(bufs.length).toBeGreaterThan(1);
      for (const { buf, count } of bufs) {
        expect(buf.length <= 60 || count === 1).toBe(true);
        expect(forEachRecord(buf, 7, (key, value) => got.push({ key: key.toString(), value: Buffer.from(value) }))).toBe(count);
      }
      expect(got).toEqual(want.map((r) => ({ key: r.key.toString(), value: r.value })));
      expect(got.some((r) => r.key === 'gone')).toBe(persistent);
    }
  });

  it('equal rsn: a later copy replaces the leader\'s own', () => {
    const db = new RecoveryDb(false, 0);
    db.addRecBuffer(pulled(1, [['a', val(5, 0, 'leader')]]), 1);
    db.addRecBuffer(pulled(1, [['a', val(5, 2, 'other')]]), 1);
    expect(splitLtdb(db.get(k('a'))!.value).data.toString()).toBe('other');
  });

  it('an empty database still pushes one buffer with count 0', () => {
    expect([...new RecoveryDb(false, 0).pushBuffers(3, 1000)].map((b) => [b.count, b.buf.length])).toEqual([[0, 8]]);
  });

  it('refuses a record without an ltdb header, garbage and a foreign db id', () => {
    const db = new RecoveryDb(false, 0);
    expect(() => db.addRecBuffer(pulled(1, [['a', Buffer.alloc(10)]]), 1)).toThrow(/no ltdb header/);
    expect(() => db.addRecBuffer(pulled(1, [['a', val(1, 0)]]), 2)).toThrow(/expected/);
    const bad = pulled(1, [['a', val(1, 0)]]); bad.writeUInt32LE(2, 4);
    expect(() => db.addRecBuffer(bad, 1)).toThrow(/ends inside record 1 of 2/);
  });
});

describe('RecoveryDb with many keys (hash collisions in the index)', () => {
  const pulled = (dbId: number, recs: Array<[string, Buffer]>): Buffer =>
    [...packRecBuffers(dbId, recs.map(([key, value]) => ({ key: k(key), value })), 1 << 20)][0]!.buf;

  it('keys whose hashes collide stay apart (k00lcb/k04e72 and k00lf1/k04e8g collide in the index hash)', () => {
    const db = new RecoveryDb(false, 0);
    const pairs: Array<[string, Buffer]> = [['k00lcb', val(1, 1, 'a')], ['k04e72', val(1, 1, 'b')], ['k00lf1', val(1, 1, 'c')], ['k04e8g', val(1, 1, 'd')]];
    db.addRecBuffer(pulled(3, pairs), 3);
    db.addRecBuffer(pulled(3, [['k04e72', val(2, 2, 'b2')], ['k00lf1', val(0, 2, 'c-old')]]), 3);
    expect(db.size).toBe(4);
    expect(['k00lcb', 'k04e72', 'k00lf1', 'k04e8g'].map((x) => splitLtdb(db.get(k(x))!.value).data.toString())).toEqual(['a', 'b2', 'c', 'd']);
    const order: string[] = [];
    for (const b of db.pushBuffers(3, 1000)) forEachRecord(b.buf, 3, (key) => order.push(key.toString()));
    expect(order).toEqual(['k00lcb', 'k04e72', 'k00lf1', 'k04e8g']);
  });

  it('keeps one copy per distinct key and finds each', () => {
    const db = new RecoveryDb(false, 0);
    const n = 60_000; // dozens of 30-bit hash collisions are expected among this many keys
    const recs = (node: number, rsn: (i: number) => number): Array<{ key: Buffer; value: Buffer }> =>
      Array.from({ length: n }, (_, i) => ({ key: k(`key-${i}`), value: val(rsn(i), node, `n${node}`) }));
    for (const b of packRecBuffers(5, recs(1, () => 2), 1 << 20)) db.addRecBuffer(b.buf, 5);
    for (const b of packRecBuffers(5, recs(2, (i) => (i % 2 === 0 ? 3 : 1)), 1 << 20)) db.addRecBuffer(b.buf, 5);
    expect(db.size).toBe(n);
    for (let i = 0; i < n; i += 1) {
      expect(splitLtdb(db.get(k(`key-${i}`))!.value).data.toString()).toBe(i % 2 === 0 ? 'n2' : 'n1');
    }
    expect(db.get(k('key-absent'))).toBeUndefined();
    let pushed = 0;
    for (const b of db.pushBuffers(5, 1 << 20)) pushed += b.count;
    expect(pushed).toBe(n);
  });
});
