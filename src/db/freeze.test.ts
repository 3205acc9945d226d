import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { RecordFlag } from '../protocol/constants.js';
import { joinLtdb, splitLtdb } from '../protocol/records.js';
import { LocalDb } from './local-db.js';
import { robustMutexesSupported } from './tdb.js';

/** A rec_buffer of `records` (each value an ltdb header + data). */
function recBuffer(records: Array<[string, Buffer]>): Buffer {
  const parts = records.map(([k, v]) => {
    const key = Buffer.from(k);
    const head = Buffer.alloc(16);
    head.writeUInt32LE(16 + key.length + v.length, 0);
    head.writeUInt32LE(key.length, 8);
    head.writeUInt32LE(v.length, 12);
    return Buffer.concat([head, key, v]);
  });
  const top = Buffer.alloc(8);
  top.writeUInt32LE(0x1234, 0);
  top.writeUInt32LE(records.length, 4);
  return Buffer.concat([top, ...parts]);
}

const rec = (rsn: number, data: string, flags = 0): Buffer => joinLtdb({ rsn: BigInt(rsn), dmaster: 1, flags }, Buffer.from(data));

describe.each([false, ...(robustMutexesSupported() ? [true] : [])])('FreezeState recovery commit (mutexes %s)', (mutexes) => {
  const dir = mkdtempSync(join(tmpdir(), 'freeze-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  let n = 0;
  const open = (): LocalDb => LocalDb.open(`f${n++}.tdb`, 'volatile', { pnn: 0, dirs: { volatileDir: dir, persistentDir: dir, stateDir: dir }, mutexes, hashSize: 131 });

  it('wipes, stores the pushed rec_buffers (later copies win, read-only flags cleared) and stays frozen', async () => {
    const db = open();
    try {
      db.tdb.store(Buffer.from('old'), rec(1, 'gone'));
      await db.freeze.freeze(1000);
      db.freeze.start(7);
      db.freeze.wipe(7);
      const many: Array<[string, Buffer]> = Array.from({ length: 2000 }, (_, i) => [`k${i}`, rec(2, `v${i}`)]);
      expect(db.freeze.putRecBuffer(recBuffer(many))).toBe(2000);
      expect(db.freeze.putRecBuffer(recBuffer([
        ['k5', rec(3, 'newer', RecordFlag.RO_HAVE_DELEGATIONS | RecordFlag.RO_HAVE_READONLY | RecordFlag.MIGRATED_WITH_DATA)],
        ['short', Buffer.from('no header')],
      ]))).toBe(1);
      await db.freeze.commitAsync(7, 0);
      expect(db.freeze.frozen).toBe(true);
      expect(db.tdb.fetch(Buffer.from('old'))).toBeUndefined();
      expect(db.tdb.fetch(Buffer.from('short'))).toBeUndefined();
      expect(splitLtdb(db.tdb.fetch(Buffer.from('k1999'))!).data.toString()).toBe('v1999');
      const k5 = splitLtdb(db.tdb.fetch(Buffer.from('k5'))!);
      expect(k5.data.toString()).toBe('newer');
      expect(k5.header.flags).toBe(RecordFlag.MIGRATED_WITH_DATA);
      expect(db.tdb.keys().length).toBe(2000);
      db.freeze.thaw();
      expect(db.freeze.frozen).toBe(false);
      expect(db.tdb.lockAll({ nonblock: true })).toBe(true); // no lock left behind
      db.tdb.unlockAll();
    } finally { db.close(); }
  });

  it('a thaw in the middle of the commit stops it with ECANCELED and releases the lock', async () => {
    const db = open();
    try {
      db.tdb.store(Buffer.from('old'), rec(1, 'kept'));
      await db.freeze.freeze(1000);
      db.freeze.start(9);
      db.freeze.wipe(9);
      db.freeze.putRecBuffer(recBuffer(Array.from({ length: 5000 }, (_, i) => [`k${i}`, rec(2, 'v')])));
      const commit = db.freeze.commitAsync(9, 0);
      await new Promise((r) => setImmediate(r));
      db.freeze.thaw();
      await expect(commit).rejects.toMatchObject({ code: 'ECANCELED' });
      expect(db.freeze.frozen).toBe(false);
      expect(db.tdb.fetch(Buffer.from('k4999'))).toBeUndefined(); // stopped before the end
      expect(db.tdb.lockAll({ nonblock: true })).toBe(true);
      db.tdb.unlockAll();
    } finally { db.close(); }
  });

  it('a cancel in the middle of the commit stops it with ECANCELED and the database stays frozen', async () => {
    const db = open();
    try {
      db.tdb.store(Buffer.from('old'), rec(1, 'kept'));
      await db.freeze.freeze(1000);
      db.freeze.start(3);
      db.freeze.wipe(3);
      db.freeze.putRecBuffer(recBuffer(Array.from({ length: 5000 }, (_, i) => [`k${i}`, rec(2, 'v')])));
      const commit = db.freeze.commitAsync(3, 0);
      await new Promise((r) => setImmediate(r));
      db.freeze.cancel();
      await expect(commit).rejects.toMatchObject({ code: 'ECANCELED' });
      expect(db.freeze.frozen).toBe(true);
      expect(db.tdb.fetch(Buffer.from('k4999'))).toBeUndefined();
      expect(() => db.freeze.commit(3)).toThrow(/no recovery transaction 3/);
      db.freeze.thaw();
    } finally { db.close(); }
  });

  it('persistent: the sequence number record is stored (last) and headers keep their flags', async () => {
    const db = LocalDb.open(`p${n++}.tdb`, 'persistent', { pnn: 0, dirs: { volatileDir: dir, persistentDir: dir, stateDir: dir }, mutexes, hashSize: 131 });
    try {
      await db.freeze.freeze(1000);
      db.freeze.start(4);
      db.freeze.wipe(4);
      const seq = Buffer.alloc(8); seq.writeBigUInt64LE(42n);
      db.freeze.putRecBuffer(recBuffer([
        ['__db_sequence_number__\0', joinLtdb({ rsn: 0n, dmaster: 0, flags: 0 }, seq)],
        ['p', rec(5, 'kept', RecordFlag.RO_HAVE_READONLY)],
      ]));
      await db.freeze.commitAsync(4);
      expect(splitLtdb(db.tdb.fetch(Buffer.from('__db_sequence_number__\0', 'latin1'))!).data.readBigUInt64LE(0)).toBe(42n);
      expect(splitLtdb(db.tdb.fetch(Buffer.from('p'))!).header.flags).toBe(RecordFlag.RO_HAVE_READONLY);
      db.freeze.thaw();
    } finally { db.close(); }
  });

  it('refuses a malformed rec_buffer without taking any of it', async () => {
    const db = open();
    try {
      await db.freeze.freeze(1000);
      db.freeze.start(1);
      const bad = recBuffer([['a', rec(1, 'x')], ['b', rec(1, 'y')]]);
      bad.writeUInt32LE(3, 4);
      expect(() => db.freeze.putRecBuffer(bad)).toThrow(/ends inside record 2 of 3/);
      await db.freeze.commitAsync(1);
      expect(db.tdb.fetch(Buffer.from('a'))).toBeUndefined();
      db.freeze.thaw();
    } finally { db.close(); }
  });
});
