import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { TdbFile } from './tdb.js';

describe('TdbFile key walk (firstKey / nextKey)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tdb-walk-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('visits every key once, can pause between keys, and ends with undefined', async () => {
    const t = TdbFile.open(join(dir, 'a.tdb'), { hashSize: 7 });
    try {
      expect(t.firstKey()).toBeUndefined();
      const want = new Set(Array.from({ length: 500 }, (_, i) => `k${i}`));
      for (const k of want) t.store(Buffer.from(k), Buffer.from('v'));
      expect(t.fetch(Buffer.from('absent'))).toBeUndefined(); // leaves NOEXIST behind: the walk must not mind
      const seen: string[] = [];
      for (let k = t.firstKey(); k; k = t.nextKey(k)) {
        seen.push(k.toString());
        if (seen.length % 100 === 0) await new Promise((r) => setImmediate(r));
      }
      expect(seen.length).toBe(500);
      expect(new Set(seen)).toEqual(want);
    } finally { t.close(); }
  });
});
