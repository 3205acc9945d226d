import { mkdtempSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { CtdbError } from '../../src/common/errors.js';
import { TdbFile, robustMutexesSupported, tdbJenkinsHash } from '../../src/db/tdb.js';
import { TdbFlag, persistentOpenFlags, volatileOpenFlags } from '../../src/db/tdb-flags.js';

const dir = mkdtempSync(join(tmpdir(), 'tdb-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const open: TdbFile[] = [];
afterEach(() => { while (open.length) open.pop()!.close(); });
let seq = 0;
function fresh(tdbFlags = persistentOpenFlags(), name = `t${seq++}.tdb`): TdbFile {
  const t = TdbFile.open(join(dir, name), { hashSize: 131, tdbFlags });
  open.push(t);
  return t;
}
const b = (s: string): Buffer => Buffer.from(s);

const kinds = [
  ['persistent (fcntl locks)', persistentOpenFlags()],
  ['volatile (mutexes when supported)', volatileOpenFlags(robustMutexesSupported())],
] as const;

describe.each(kinds)('TdbFile %s', (_name, flags) => {
  it('stores, fetches, replaces and deletes', () => {
    const t = fresh(flags);
    expect(t.fetch(b('k'))).toBeUndefined();
    expect(t.exists(b('k'))).toBe(false);
    t.store(b('k'), b('v1'));
    expect(t.fetch(b('k'))).toEqual(b('v1'));
    t.store(b('k'), b('value two'));
    expect(t.fetch(b('k'))).toEqual(b('value two'));
    expect(t.exists(b('k'))).toBe(true);
    expect(t.delete(b('k'))).toBe(true);
    expect(t.delete(b('k'))).toBe(false);
    expect(t.fetch(b('k'))).toBeUndefined();
  });

  it('keeps binary keys and values, including empty values', () => {
    const t = fresh(flags);
    const key = Buffer.from([0, 1, 2, 255, 0]);
    const val = Buffer.from(Array.from({ length: 3000 }, (_, i) => (i * 7) & 0xff));
    t.store(key, val);
    t.store(b('empty'), Buffer.alloc(0));
    expect(t.fetch(key)).toEqual(val);
    expect(t.fetch(b('empty'))).toEqual(Buffer.alloc(0));
    expect(t.exists(b('empty'))).toBe(true);
  });

  it('honours insert and modify', () => {
    const t = fresh(flags);
    expect(() => t.store(b('x'), b('1'), 'modify')).toThrow(expect.objectContaining({ code: 'ENOENT' }));
    t.store(b('x'), b('1'), 'insert');
    expect(() => t.store(b('x'), b('2'), 'insert')).toThrow(expect.objectContaining({ code: 'EEXIST' }));
    t.store(b('x'), b('3'), 'modify');
    expect(t.fetch(b('x'))).toEqual(b('3'));
  });

  it('traverses every record, stops on false, allows delete during the walk', () => {
    const t = fresh(flags);
    for (let i = 0; i < 50; i++) t.store(b(`key${i}`), b(`val${i}`));
    const seen = new Map<string, string>();
    expect(t.traverse((k, v) => { seen.set(k.toString(), v.toString()); })).toBe(50);
    expect(seen.size).toBe(50);
    expect(seen.get('key17')).toBe('val17');
    expect(t.traverse(() => false)).toBe(1);
    expect(t.keys().map(String).sort()).toEqual([...seen.keys()].sort());
    t.traverse((k) => { if (Number(k.toString().slice(3)) % 2 === 0) t.delete(k); });
    expect(t.keys()).toHaveLength(25);
    expect(() => t.traverse(() => { throw new Error('boom'); })).toThrow('boom');
  });

  it('commits and cancels transactions', () => {
    const t = fresh(flags);
    t.store(b('a'), b('1'));
    t.transaction(() => { t.store(b('a'), b('2')); t.store(b('b'), b('3')); });
    expect(t.fetch(b('a'))).toEqual(b('2'));
    expect(() => t.transaction(() => { t.store(b('a'), b('9')); t.delete(b('b')); throw new Error('abort'); })).toThrow('abort');
    expect(t.fetch(b('a'))).toEqual(b('2'));
    expect(t.fetch(b('b'))).toEqual(b('3'));
    t.transactionStart();
    t.store(b('c'), b('4'));
    t.transactionCancel();
    expect(t.exists(b('c'))).toBe(false);
    // DISALLOW_NESTING is in both flag sets: a nested start is refused.
    t.transactionStart();
    expect(() => t.transactionStart()).toThrow(CtdbError);
    t.transactionCancel();
    expect(() => t.transaction(() => Promise.resolve(1))).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    expect(t.exists(b('a'))).toBe(true);
  });

  it('locks a chain in-process, wipes, repacks, checks', () => {
    const t = fresh(flags);
    expect(t.chainLock(b('k'), { nonblock: true })).toBe(true);
    t.store(b('k'), b('under lock'));
    t.chainUnlock(b('k'));
    expect(t.chainLock(b('k'))).toBe(true);
    t.chainUnlock(b('k'));
    for (let i = 0; i < 100; i++) t.store(b(`r${i}`), Buffer.alloc(100, i));
    for (let i = 0; i < 100; i += 2) t.delete(b(`r${i}`));
    expect(t.freelistSize()).toBeGreaterThan(0);
    t.repack();
    expect(t.freelistSize()).toBeLessThanOrEqual(1);
    expect(t.fetch(b('r1'))).toEqual(Buffer.alloc(100, 1));
    expect(t.check()).toBe(true);
    t.wipeAll();
    expect(t.keys()).toEqual([]);
  });

  it('runs async fetch, store, chain lock and transaction start', async () => {
    const t = fresh(flags);
    await t.storeAsync(b('a'), b('1'));
    expect(await t.fetchAsync(b('a'))).toEqual(b('1'));
    expect(await t.fetchAsync(b('missing'))).toBeUndefined();
    const all = await Promise.all(Array.from({ length: 20 }, (_, i) => t.storeAsync(b(`p${i}`), b(`${i}`))));
    expect(all).toHaveLength(20);
    expect(t.keys()).toHaveLength(21);
    const pending = t.fetchAsync(b('a'));
    expect(() => t.fetch(b('a'))).toThrow(expect.objectContaining({ code: 'EBUSY' }));
    await pending;
    expect(await t.chainLockAsync(b('a'))).toBe(true);
    t.store(b('a'), b('2'));
    t.chainUnlock(b('a'));
    await t.transactionStartAsync();
    t.store(b('a'), b('3'));
    t.transactionCommit();
    expect(t.fetch(b('a'))).toEqual(b('3'));
    await expect(t.storeAsync(b('x'), b('y'), 'insert', { signal: AbortSignal.abort() }))
      .rejects.toMatchObject({ code: 'ECANCELED' });
    expect(t.exists(b('x'))).toBe(false);
  });

  it('reports the flags it was opened with', () => {
    expect(fresh(flags).flags & 0xffff).toBe(flags);
  });
});

describe('opening', () => {
  it('verifies the volatile flag set 0x1c41 with tdb_get_flags when mutexes work', () => {
    if (!robustMutexesSupported()) {
      // Falls back to 0x0c41; CTDB does the same on hosts without robust mutexes.
      expect(fresh(volatileOpenFlags(false)).flags).toBe(0x0c41);
      return;
    }
    expect(volatileOpenFlags(true)).toBe(0x1c41);
    expect(fresh(volatileOpenFlags(true)).flags).toBe(0x1c41);
    expect(fresh(persistentOpenFlags()).flags).toBe(0x400);
  });

  it('refuses a second open in the same process with EBUSY', () => {
    const t = fresh(0, 'twice.tdb');
    expect(() => TdbFile.open(t.path)).toThrow(expect.objectContaining({ code: 'EBUSY', message: expect.stringContaining('twice.tdb') }));
  });

  it('fails with ENOENT naming the file when it is missing and O_CREAT is not given', () => {
    const p = join(dir, 'absent.tdb');
    expect(() => TdbFile.open(p, { openFlags: 2 })).toThrow(expect.objectContaining({ code: 'ENOENT', message: expect.stringContaining(p) }));
  });

  it('refuses a garbage file and leaves it untouched', () => {
    const p = join(dir, 'garbage.tdb');
    const junk = Buffer.from('this is not a tdb file at all\n'.repeat(100));
    writeFileSync(p, junk);
    expect(() => TdbFile.open(p)).toThrow(expect.objectContaining({ code: 'EIO', message: expect.stringContaining(p) }));
    expect(() => TdbFile.open(p, { tdbFlags: volatileOpenFlags(false) })).toThrow(/not a valid TDB/);
    expect(readFileSync(p)).toEqual(junk);
  });

  it('refuses a file truncated inside its header or hash table', () => {
    const p = join(dir, 'short.tdb');
    const t = TdbFile.open(p, { hashSize: 1000 });
    t.store(b('k'), b('v'));
    t.close();
    for (const len of [100, 1000]) {
      truncateSync(p, len);
      expect(() => TdbFile.open(p)).toThrow(expect.objectContaining({ code: 'EIO', message: expect.stringContaining(p) }));
      expect(statSync(p).size).toBe(len);
    }
  });

  it('with check, refuses a file truncated in its record area', () => {
    const p = join(dir, 'cut.tdb');
    const t = TdbFile.open(p, { hashSize: 17 });
    for (let i = 0; i < 200; i++) t.store(b(`key${i}`), Buffer.alloc(200, i));
    t.close();
    const full = statSync(p).size;
    truncateSync(p, Math.floor(full / 2));
    expect(() => TdbFile.open(p, { check: true })).toThrow(/tdb_check/);
    expect(statSync(p).size).toBe(Math.floor(full / 2));
  });

  it('frees every value libtdb allocates (600 MiB fetched, RSS stays flat)', async () => {
    const t = fresh(persistentOpenFlags());
    t.store(b('big'), Buffer.alloc(1 << 20, 1));
    const rss0 = process.memoryUsage().rss;
    for (let i = 0; i < 400; i++) expect(t.fetch(b('big'))!.length).toBe(1 << 20);
    for (let i = 0; i < 200; i++) await t.fetchAsync(b('big'));
    expect(process.memoryUsage().rss - rss0).toBeLessThan(150 * 1048576);
  });

  it('without check, a read past the truncated end fails naming the file', () => {
    const p = join(dir, 'cut2.tdb');
    const t = TdbFile.open(p, { hashSize: 17 });
    for (let i = 0; i < 200; i++) t.store(b(`key${i}`), Buffer.alloc(200, i));
    t.close();
    truncateSync(p, Math.floor(statSync(p).size / 2));
    const u = TdbFile.open(p);
    open.push(u);
    let failure: unknown;
    for (let i = 0; i < 200 && !failure; i++) {
      try { u.fetch(b(`key${i}`)); } catch (err) { failure = err; }
    }
    expect(failure).toMatchObject({ code: 'EIO', message: expect.stringContaining(p) });
  });

  it('opens read-only and refuses writes', () => {
    const p = join(dir, 'ro.tdb');
    const w = TdbFile.open(p);
    w.store(b('k'), b('v'));
    w.close();
    const t = TdbFile.open(p, { openFlags: 0 });
    open.push(t);
    expect(t.fetch(b('k'))).toEqual(b('v'));
    expect(() => t.store(b('k'), b('x'))).toThrow(expect.objectContaining({ message: expect.stringContaining(p) }));
    expect(t.fetch(b('k'))).toEqual(b('v'));
  });

  it('names the path when it is a directory', () => {
    expect(() => TdbFile.open(dir)).toThrow(expect.objectContaining({ code: 'EISDIR', message: expect.stringContaining(dir) }));
  });

  it('throws EBADF after close', () => {
    const t = TdbFile.open(join(dir, 'closed.tdb'));
    t.close();
    t.close();
    expect(() => t.fetch(b('k'))).toThrow(expect.objectContaining({ code: 'EBADF' }));
  });

  it('exposes libtdb jenkins hash with the spec golden values', () => {
    expect(tdbJenkinsHash(Buffer.from('testvol.tdb\0'))).toBe(0x10120015);
    expect(tdbJenkinsHash(Buffer.from('k1'))).toBe(0xeb04426d);
    expect(tdbJenkinsHash(Buffer.from('key1'))).toBe(0x1de0df49);
  });

  it('counts changes once seqnum is enabled and reports open transactions', () => {
    const t = fresh(persistentOpenFlags());
    t.store(b('a'), b('1'));
    expect(t.seqnum).toBe(0);
    t.enableSeqnum();
    expect(t.flags & TdbFlag.SEQNUM).toBe(TdbFlag.SEQNUM);
    t.store(b('a'), b('2'));
    t.delete(b('a'));
    expect(t.seqnum).toBe(2);
    expect(t.inTransaction).toBe(false);
    t.transactionStart();
    expect(t.inTransaction).toBe(true);
    t.transactionCancel();
    expect(t.inTransaction).toBe(false);
  });

  it('keeps TdbFlag values equal to what libtdb reports back', () => {
    const t = fresh(TdbFlag.NOSYNC | TdbFlag.SEQNUM | TdbFlag.ALLOW_NESTING);
    expect(t.flags & 0xffff).toBe(64 | 128 | 512);
  });
});
