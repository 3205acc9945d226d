import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { TdbFile } from '../../src/db/tdb.js';
import { persistentOpenFlags } from '../../src/db/tdb-flags.js';
import { readRecord, traverseRecords, writeRecord, type LtdbRecord } from '../../src/db/ltdb.js';

const dir = mkdtempSync(join(tmpdir(), 'ltdb-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('writes, reads and walks ltdb records, skipping values without a header', () => {
  const t = TdbFile.open(join(dir, 'recs.tdb'), { tdbFlags: persistentOpenFlags() });
  try {
    expect(readRecord(t, Buffer.from('none'))).toBeUndefined();
    writeRecord(t, Buffer.from('a'), { rsn: 3n, dmaster: 1, flags: 0x10000 }, Buffer.from('alpha'));
    writeRecord(t, Buffer.from('empty'), { rsn: 9n, dmaster: 2, flags: 0 }, Buffer.alloc(0));
    t.store(Buffer.from('short'), Buffer.from('no header'));
    expect(readRecord(t, Buffer.from('a'))).toEqual({ header: { rsn: 3n, dmaster: 1, flags: 0x10000 }, data: Buffer.from('alpha') });
    expect(readRecord(t, Buffer.from('empty'))).toEqual({ header: { rsn: 9n, dmaster: 2, flags: 0 }, data: Buffer.alloc(0) });
    expect(readRecord(t, Buffer.from('short'))).toBeUndefined();
    const seen = new Map<string, LtdbRecord>();
    expect(traverseRecords(t, (k, r) => { seen.set(k.toString(), r); })).toBe(2);
    expect([...seen.keys()].sort()).toEqual(['a', 'empty']);
    expect(seen.get('a')!.header.rsn).toBe(3n);
    writeRecord(t, Buffer.from('a'), { rsn: 4n, dmaster: 0, flags: 0 }, Buffer.from('beta'));
    expect(readRecord(t, Buffer.from('a'))!.header.rsn).toBe(4n);
  } finally {
    t.close();
  }
});
